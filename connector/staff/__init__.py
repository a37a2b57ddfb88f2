"""The people who use Matterline: users, roles, API tokens, and who an action is by."""
