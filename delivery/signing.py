"""Webhook signatures: HMAC-SHA256 over ``"{timestamp}." + body``, one per active secret.

The header is ``X-Journeys-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>...]``. During a
rotation an endpoint has two secrets and every delivery carries both signatures, so a receiver
still holding the old secret keeps verifying until it switches: rotation without downtime.
"""

import hashlib
import hmac
import time

HEADER = "X-Journeys-Signature"
TOLERANCE_S = 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``timestamp.body`` under ``secret``."""
    payload = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()


def sign(secrets: list[str], body: bytes, timestamp: int | None = None) -> str:
    """The signature header value for ``body`` under every active secret."""
    at = int(time.time()) if timestamp is None else timestamp
    parts = [f"t={at}"] + [f"v1={signature(s, at, body)}" for s in secrets]
    return ",".join(parts)


def verify(header: str, body: bytes, secret: str, now: float | None = None) -> bool:
    """Whether ``header`` holds a fresh signature of ``body`` under ``secret`` (receivers)."""
    fields = [part.partition("=") for part in header.split(",")]
    stamps = [value for name, _, value in fields if name == "t"]
    if len(stamps) != 1 or not stamps[0].isdigit():
        return False
    at = int(stamps[0])
    if abs((time.time() if now is None else now) - at) > TOLERANCE_S:
        return False
    expected = signature(secret, at, body)
    return any(name == "v1" and hmac.compare_digest(value, expected) for name, _, value in fields)
