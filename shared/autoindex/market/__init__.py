"""Market data: the asset universe, daily prices, the refresh pipeline and its providers."""
