"""CMS -> store: clients, phones and matters read page by page, and kept current by CMS webhooks."""
