"""AES-GCM payload codec: workflow histories hold no plaintext clinical data."""

import base64
import contextlib
import json
import logging
import os
import secrets
from collections.abc import Sequence
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import EncodingPayloadConverter, PayloadCodec

from runtime.files import private_directory
from runtime.refused import REFUSED_MESSAGE, ForeignPayloadError
from runtime.settings import Settings

ENCODING = b"binary/encrypted"
KEY_ID_META = "encryption-key-id"
NONCE_BYTES = 12
KEY_BYTES = 32
# What the worker's codec hands on in place of a refused payload (see RefusingCodec).
REFUSED_ENCODING = b"binary/refused"

log = logging.getLogger(__name__)


class CodecKeyError(Exception):
    """A missing, malformed or unknown encryption key."""


class EncryptionCodec(PayloadCodec):
    """Encrypts with the active key; decrypts with whichever key a payload names."""

    def __init__(self, keys: dict[str, bytes], active_key_id: str) -> None:
        if active_key_id not in keys:
            raise CodecKeyError(f"active key {active_key_id!r} is not among the keys")
        for key_id, key in keys.items():
            if len(key) != KEY_BYTES:
                raise CodecKeyError(f"key {key_id!r} must be {KEY_BYTES} bytes, not {len(key)}")
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self._active = active_key_id

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Encrypt each whole payload (metadata included) with the active key."""
        return [self._encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Decrypt each payload; refuse any that is not encrypted with one of our keys.

        Only our own services hold a key, so a payload in plaintext (``temporal workflow
        update execute``, the UI's write actions, any client without the codec) or sealed with
        a key we do not know never reaches a journey.

        Raises:
            CodecKeyError: a payload is not encrypted, names an unknown key, or fails
                authentication. The message names neither the payload nor a key.
        """
        return [self._decrypt(p) for p in payloads]

    def _encrypt(self, payload: Payload) -> Payload:
        nonce = secrets.token_bytes(NONCE_BYTES)
        key_id = self._active.encode()
        sealed = self._ciphers[self._active].encrypt(nonce, payload.SerializeToString(), key_id)
        return Payload(metadata={"encoding": ENCODING, KEY_ID_META: key_id}, data=nonce + sealed)

    def _decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            raise CodecKeyError(REFUSED_MESSAGE)
        key_id = payload.metadata.get(KEY_ID_META, b"").decode(errors="replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise CodecKeyError(f"{REFUSED_MESSAGE}: unknown key {key_id[:40]!r}")
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        try:
            return Payload.FromString(cipher.decrypt(nonce, sealed, key_id.encode()))
        except InvalidTag:
            raise CodecKeyError(
                f"{REFUSED_MESSAGE}: payload failed authentication with key {key_id!r}"
            ) from None


class RefusingCodec(PayloadCodec):
    """The worker's codec: a refused payload becomes an inert stand-in, not a failed task.

    :class:`EncryptionCodec` raises for a payload not encrypted with a known key; in a worker
    that would fail the whole workflow task, and a signal (which the server keeps in history)
    would then fail every later task of the journey. Here each refused payload is logged (why,
    never what) and replaced by one that :class:`RefusedPayloadConverter` turns into a
    :class:`ForeignPayloadError` when the journey reads it: the SDK then rejects the update,
    drops the signal, fails the query, or (with ``workflow_failure_exception_types``) fails
    the started workflow, before any journey code runs.
    """

    def __init__(self, inner: EncryptionCodec) -> None:
        self.inner = inner

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Encrypt, as the inner codec does."""
        return await self.inner.encode(payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Decrypt each payload, or stand in for it when it is refused."""
        return [await self._decode_one(p) for p in payloads]

    async def _decode_one(self, payload: Payload) -> Payload:
        try:
            [decoded] = await self.inner.decode([payload])
        except CodecKeyError as refused:
            # Through the standard logger so it reaches every configured handler; the reason
            # names no payload.
            log.warning("codec.payload_refused", extra={"reason": str(refused)})
            return Payload(metadata={"encoding": REFUSED_ENCODING})
        return decoded


class RefusedPayloadConverter(EncodingPayloadConverter):
    """Reads the stand-in of a refused payload as a :class:`ForeignPayloadError`."""

    @property
    def encoding(self) -> str:
        """The stand-in's encoding."""
        return REFUSED_ENCODING.decode()

    def to_payload(self, value: object) -> Payload | None:
        """Never used to encode: every value has a converter before this one."""
        return None

    def from_payload(self, payload: Payload, type_hint: type | None = None) -> object:
        """Refuse.

        Raises:
            ForeignPayloadError: always.
        """
        raise ForeignPayloadError(REFUSED_MESSAGE)


def load_keys(settings: Settings) -> tuple[dict[str, bytes], str]:
    """The codec keys and the id of the one that encrypts new payloads.

    Keys configured in settings win; otherwise the local key file is read, and created with
    one fresh key on first use.

    Raises:
        CodecKeyError: a key is not base64 of 32 bytes, or the key file is unreadable.
    """
    if settings.codec_keys:
        keys = {k: _decode_key(k, v.get_secret_value()) for k, v in settings.codec_keys.items()}
        # Settings already refused several keys without an active one.
        return keys, settings.codec_active_key or next(iter(keys))
    return load_or_create_key_file(settings.effective_codec_key_file)


def load_or_create_key_file(path: Path) -> tuple[dict[str, bytes], str]:
    """Read ``{"active": id, "keys": {id: base64}}``; create it, owner-only, if absent."""
    if not path.exists():
        _create_key_file(path)
    try:
        body = json.loads(path.read_text())
        keys = {k: _decode_key(k, v) for k, v in body["keys"].items()}
        active = str(body["active"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CodecKeyError(f"{path}: not a valid key file ({exc!r})") from exc
    if active not in keys:
        raise CodecKeyError(f"{path}: active key {active!r} is not among its keys")
    return keys, active


def _create_key_file(path: Path) -> None:
    key_id = f"local-{secrets.token_hex(4)}"
    body = {"active": key_id, "keys": {key_id: base64.b64encode(os.urandom(KEY_BYTES)).decode()}}
    private_directory(path.parent)
    draft = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    # Mode 0600 from the first byte: the key is never readable by others, not even briefly.
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(body, handle)
            handle.flush()
            os.fsync(handle.fileno())
        # A link never replaces an existing file: when two processes start together, the
        # first key file wins and both read it, so neither encrypts with a key the other lacks.
        with contextlib.suppress(FileExistsError):
            os.link(draft, path)
    finally:
        draft.unlink()


def _decode_key(key_id: str, value: str) -> bytes:
    try:
        key = base64.b64decode(value, validate=True)
    except ValueError as exc:
        raise CodecKeyError(f"key {key_id!r} is not base64") from exc
    if len(key) != KEY_BYTES:
        raise CodecKeyError(f"key {key_id!r} must be {KEY_BYTES} bytes, not {len(key)}")
    return key
