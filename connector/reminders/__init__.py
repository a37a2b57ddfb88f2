"""Court-date and appointment reminders: the firm's reminder rules, and the reminders planned and sent from them."""
