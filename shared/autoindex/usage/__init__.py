"""What a caller used today: requests by route group, quota left, backtests run, webhook deliveries."""
