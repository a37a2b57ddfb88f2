"""What proves who did what: the hash-chained audit log, retention and legal holds, and a matter's export."""
