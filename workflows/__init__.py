"""Temporal workflows: one durable workflow per treatment journey."""
