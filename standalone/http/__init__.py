"""HTTP services' route modules."""
