"""Database access: engines for writes and reads, the unit of work, models' base and migrations."""
