"""The index: strategy versions, the compute job, the read cache and the analytics over stored series."""
