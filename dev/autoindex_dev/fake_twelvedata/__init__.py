"""A fake Twelve Data API server for tests and local runs, following the reference document."""
