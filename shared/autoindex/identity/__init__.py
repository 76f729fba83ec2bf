"""Identity: accounts, sessions, API keys, principals and the audit trail."""
