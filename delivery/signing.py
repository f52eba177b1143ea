"""Webhook signatures in the Standard Webhooks scheme (https://www.standardwebhooks.com).

Every delivery carries ``webhook-id`` (the delivery's idempotency key: receivers drop a
repeat), ``webhook-timestamp`` (unix seconds) and ``webhook-signature``: ``v1,<base64>`` of
HMAC-SHA256 over ``"{id}.{timestamp}.{body}"``, one per active secret, space-separated. During
a rotation an endpoint has two secrets and every delivery carries both signatures, so a
receiver still holding the old secret keeps verifying until it switches.

Secrets are ``whsec_`` and the base64 of 32 random bytes; the HMAC key is those bytes, as
every Standard Webhooks library derives it from the secret string.
"""

import base64
import binascii
import hashlib
import hmac
import os
import time

SECRET_PREFIX = "whsec_"  # noqa: S105 (the prefix, not a secret)
SECRET_BYTES = 32
ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"


def new_secret() -> str:
    """A fresh signing secret (shown once to whoever configures the receiver)."""
    return SECRET_PREFIX + base64.b64encode(os.urandom(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key of a secret: the bytes its base64 part encodes.

    Decoded as Standard Webhooks libraries decode it (standard alphabet, padding optional);
    secrets issued before the scheme used the URL-safe alphabet and fall back to it.
    """
    encoded = secret.removeprefix(SECRET_PREFIX) + "=="
    try:
        return base64.b64decode(encoded)
    except binascii.Error:
        return base64.urlsafe_b64decode(encoded)


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`` under ``secret``."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(
    secrets: list[str], msg_id: str, body: bytes, timestamp: int | None = None
) -> dict[str, str]:
    """The three Standard Webhooks headers for ``body`` under every active secret."""
    at = int(time.time()) if timestamp is None else timestamp
    return {
        ID_HEADER: msg_id,
        TIMESTAMP_HEADER: str(at),
        SIGNATURE_HEADER: " ".join(signature(s, msg_id, at, body) for s in secrets),
    }
