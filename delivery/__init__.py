"""Outbound notifications: templates, signing, channels, the store and the dispatcher."""
