"""Temporal workflows: one durable workflow per treatment journey, one per external message."""
