"""Opaque identifiers: random, or derived from an idempotency key by a one-way hash; never
from client data."""

import hashlib
import secrets

_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def new_journey_id() -> str:
    """A new opaque journey id such as ``J-7KQ2M9XPT4``."""
    return "J-" + "".join(secrets.choice(_ALPHABET) for _ in range(10))


def new_client_id() -> str:
    """A new opaque client id such as ``C-Q4ZK8N2WXR`` (never derived from client data)."""
    return "C-" + "".join(secrets.choice(_ALPHABET) for _ in range(10))


def _digest(*parts: str) -> bytes:
    return hashlib.sha256("\0".join(parts).encode()).digest()


def keyed_journey_id(actor: str, key: str) -> str:
    """The journey id a start with this idempotency key gets: the same on every retry."""
    digest = _digest("journey", actor, key)
    return "J-" + "".join(_ALPHABET[b % len(_ALPHABET)] for b in digest[:10])


def keyed_update_id(actor: str, operation: str, key: str) -> str:
    """The Temporal update id of a command sent with an idempotency key (no caller text)."""
    return "cmd-" + _digest("update", actor, operation, key).hex()[:32]
