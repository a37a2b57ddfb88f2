"""HTTP to the case-management system: one client, credentials, rate limits, paging, and the error table."""
