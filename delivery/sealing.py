"""Webhook signing secrets encrypted at rest with the payload codec's key ring (AES-GCM).

A stored secret is ``sealed:<key id>:<base64 of nonce + ciphertext>``, bound to its endpoint
(the associated data names the endpoint and the key), so a sealed secret copied to another
endpoint does not open. Sealing uses the active key; opening uses whichever key a secret names,
so a key rotation leaves every secret readable. Secrets stored in plain text before sealing
existed still open as they are; the store seals them (and re-seals those under an older key)
the first time it reads or writes the endpoint's secrets.
"""

import base64
import secrets
from collections.abc import Callable
from functools import cached_property
from typing import Self

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from runtime.codec import KEY_BYTES, NONCE_BYTES, load_keys
from runtime.settings import Settings

PREFIX = "sealed:"


class SealedSecretError(Exception):
    """A sealed secret names an unknown key or fails authentication."""


KeyRing = tuple[dict[str, bytes], str]


class SecretBox:
    """Seals with the active key; opens with whichever key a sealed secret names.

    The key ring is loaded when a secret is first sealed or opened, so a process that never
    touches a webhook secret never reads (or creates) the key file.
    """

    def __init__(self, load: Callable[[], KeyRing]) -> None:
        self._load = load

    @classmethod
    def of(cls, keys: dict[str, bytes], active_key_id: str) -> Self:
        """A box over these keys, sealing with ``active_key_id``."""
        return cls(lambda: (keys, active_key_id))

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        """The box over the codec's key ring (configured keys, else the local key file)."""
        return cls(lambda: load_keys(settings))

    @cached_property
    def _ring(self) -> tuple[dict[str, AESGCM], str]:
        keys, active = self._load()
        if active not in keys:
            raise SealedSecretError(f"active key {active!r} is not among the keys")
        if any(len(key) != KEY_BYTES for key in keys.values()):
            raise SealedSecretError(f"every key must be {KEY_BYTES} bytes")
        return {key_id: AESGCM(key) for key_id, key in keys.items()}, active

    @property
    def _ciphers(self) -> dict[str, AESGCM]:
        return self._ring[0]

    @property
    def _active(self) -> str:
        return self._ring[1]

    def seal(self, endpoint_id: str, secret: str) -> str:
        """``secret`` encrypted under the active key, for ``endpoint_id``."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._ciphers[self._active].encrypt(
            nonce, secret.encode(), _context(endpoint_id, self._active)
        )
        return f"{PREFIX}{self._active}:{base64.b64encode(nonce + sealed).decode()}"

    def open(self, endpoint_id: str, stored: str) -> str:
        """The secret a stored value holds (a plain-text one as it is).

        Raises:
            SealedSecretError: the key it names is not in the ring, or it fails authentication.
        """
        if not stored.startswith(PREFIX):
            return stored
        key_id, _, data = stored.removeprefix(PREFIX).rpartition(":")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise SealedSecretError(f"a secret of {endpoint_id} was sealed with unknown key "
                                    f"{key_id!r}")  # fmt: skip
        raw = base64.b64decode(data)
        try:
            opened = cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:],
                                    _context(endpoint_id, key_id))  # fmt: skip
        except InvalidTag:
            raise SealedSecretError(f"a secret of {endpoint_id} failed authentication") from None
        return opened.decode()

    def is_current(self, stored: str) -> bool:
        """Whether a stored value is sealed under the active key (nothing to re-seal)."""
        return stored.startswith(f"{PREFIX}{self._active}:")


def _context(endpoint_id: str, key_id: str) -> bytes:
    return f"webhook-secret:{endpoint_id}:{key_id}".encode()
