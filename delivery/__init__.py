"""Outbound notifications: templates, signing, channels, dispatch and delivery workflows."""
