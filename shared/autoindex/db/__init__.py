"""Database access: engines for writes and reads, the unit of work, the models' base and column types, keyset pages."""
