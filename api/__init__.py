"""HTTP API and the operations dashboard."""
