"""Twilio <-> threads: texts received and taken in, filed to matters, answered, sent once, and tracked."""
