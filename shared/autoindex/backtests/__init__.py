"""What-if backtests for B2B clients: the index engine on the stored closes with the caller's parameters, as a job."""
