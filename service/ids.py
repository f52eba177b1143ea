"""Opaque identifiers: random, never derived from client data."""

import secrets

_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def new_journey_id() -> str:
    """A new opaque journey id such as ``J-7KQ2M9XPT4``."""
    return "J-" + "".join(secrets.choice(_ALPHABET) for _ in range(10))
