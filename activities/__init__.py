"""Temporal activities, grouped by what they depend on."""
