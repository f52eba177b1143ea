"""The AES-GCM payload codec and its key handling."""

import base64
import json
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel, SecretStr
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.exceptions import ApplicationError

from runtime.client import codec_from_settings, data_converter
from runtime.codec import (
    REFUSED_ENCODING,
    CodecKeyError,
    EncryptionCodec,
    RefusedPayloadConverter,
    RefusingCodec,
    load_keys,
    load_or_create_key_file,
)
from runtime.refused import REFUSED_MESSAGE, ForeignPayloadError
from runtime.settings import Settings

KEY_A = os.urandom(32)
KEY_B = os.urandom(32)
PLAIN = Payload(metadata={"encoding": b"json/plain"}, data=b'{"dimensions": {"d1": 3}}')


async def test_round_trip_restores_the_payload_and_hides_the_plaintext() -> None:
    codec = EncryptionCodec({"a": KEY_A}, "a")
    [sealed] = await codec.encode([PLAIN])
    assert b"dimensions" not in sealed.data
    assert b"json/plain" not in sealed.data
    assert sealed.metadata["encryption-key-id"] == b"a"
    assert await codec.decode([sealed]) == [PLAIN]


async def test_same_payload_encrypts_differently_each_time() -> None:
    codec = EncryptionCodec({"a": KEY_A}, "a")
    first, second = await codec.encode([PLAIN, PLAIN])
    assert first.data != second.data


async def test_rotated_key_set_still_reads_old_payloads() -> None:
    [old] = await EncryptionCodec({"a": KEY_A}, "a").encode([PLAIN])
    rotated = EncryptionCodec({"a": KEY_A, "b": KEY_B}, "b")
    [new] = await rotated.encode([PLAIN])
    assert new.metadata["encryption-key-id"] == b"b"
    assert await rotated.decode([old, new]) == [PLAIN, PLAIN]


async def test_unknown_key_id_is_a_clear_error() -> None:
    [sealed] = await EncryptionCodec({"a": KEY_A}, "a").encode([PLAIN])
    with pytest.raises(CodecKeyError, match="unknown key 'a'"):
        await EncryptionCodec({"b": KEY_B}, "b").decode([sealed])


async def test_tampered_payload_is_refused() -> None:
    codec = EncryptionCodec({"a": KEY_A}, "a")
    [sealed] = await codec.encode([PLAIN])
    tampered = Payload(
        metadata=sealed.metadata, data=sealed.data[:-1] + bytes([sealed.data[-1] ^ 1])
    )
    with pytest.raises(CodecKeyError, match="failed authentication"):
        await codec.decode([tampered])


async def test_unencrypted_payloads_are_refused_without_echoing_them() -> None:
    # A client without the key (the temporal CLI, a script) sends plaintext: never let it in.
    with pytest.raises(CodecKeyError, match=REFUSED_MESSAGE) as refused:
        await EncryptionCodec({"a": KEY_A}, "a").decode([PLAIN])
    assert "dimensions" not in str(refused.value)


async def test_failures_are_encrypted_and_read_back_by_the_key_holder() -> None:
    converter = data_converter(EncryptionCodec({"a": KEY_A}, "a"))
    reason = "Care team changed: reports cravings after discharge"
    failure = Failure()
    await converter.encode_failure(ApplicationError(reason, type="CommandRejected"), failure)
    assert b"cravings" not in failure.SerializeToString()
    decoded = await converter.decode_failure(failure)
    assert isinstance(decoded, ApplicationError)
    assert decoded.message == reason


class Assessment(BaseModel):
    """Stands in for a workflow argument carrying clinical detail."""

    note: str
    phq9_item9: int


async def test_the_client_converter_leaves_no_plaintext_in_payloads() -> None:
    converter = data_converter(EncryptionCodec({"a": KEY_A}, "a"))
    value = Assessment(note="reports cravings after discharge", phq9_item9=2)
    [sealed] = await converter.encode([value])
    assert sealed.metadata["encoding"] == b"binary/encrypted"
    assert b"cravings" not in sealed.SerializeToString()
    assert b"phq9" not in sealed.SerializeToString()
    assert await converter.decode([sealed], [Assessment]) == [value]


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """A umask that would leave a carelessly created file readable by everyone."""
    previous = os.umask(0)
    yield
    os.umask(previous)


@pytest.mark.usefixtures("permissive_umask")
def test_key_file_is_created_owner_only_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "codec-keys.json"
    keys, active = load_or_create_key_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(keys[active]) == 32
    assert load_or_create_key_file(path) == (keys, active)
    assert os.listdir(path.parent) == ["codec-keys.json"]


def test_processes_starting_together_share_one_key(tmp_path: Path) -> None:
    path = tmp_path / "codec-keys.json"
    start = threading.Barrier(8)
    results: list[tuple[dict[str, bytes], str]] = []

    def load() -> None:
        start.wait()
        results.append(load_or_create_key_file(path))

    threads = [threading.Thread(target=load) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8
    assert all(result == results[0] for result in results)
    assert os.listdir(tmp_path) == ["codec-keys.json"]


async def test_without_configured_keys_every_process_reads_the_local_key_file(
    tmp_path: Path,
) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path, codec_keys=None)
    [sealed] = await codec_from_settings(settings).encode([PLAIN])
    assert (tmp_path / "codec-keys.json").exists()
    # A second process (a new codec) reads what the first one wrote.
    assert await codec_from_settings(settings).decode([sealed]) == [PLAIN]


def test_keys_from_settings_win_over_the_key_file(tmp_path: Path) -> None:
    encoded = base64.b64encode(KEY_B).decode()
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path,
        codec_keys={"prod-1": SecretStr(encoded)},
        codec_active_key="prod-1",
    )
    assert load_keys(settings) == ({"prod-1": KEY_B}, "prod-1")
    assert not (tmp_path / "codec-keys.json").exists()


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"a": base64.b64encode(b"short").decode()}, "must be 32 bytes"),
        ({"a": "not base64!"}, "not base64"),
    ],
)
def test_bad_keys_are_refused(tmp_path: Path, keys: dict[str, str], message: str) -> None:
    secrets = {k: SecretStr(v) for k, v in keys.items()}
    settings = Settings(_env_file=None, data_dir=tmp_path, codec_keys=secrets)
    with pytest.raises(CodecKeyError, match=message):
        load_keys(settings)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"keys": {}}, "not a valid key file"),
        ("not json", "not a valid key file"),
        ({"active": "b", "keys": {"a": base64.b64encode(KEY_A).decode()}}, "active key 'b'"),
        ({"active": "a", "keys": {"a": base64.b64encode(b"short").decode()}}, "32 bytes"),
    ],
)
def test_bad_key_file_is_a_clear_error(tmp_path: Path, body: object, message: str) -> None:
    path = tmp_path / "codec-keys.json"
    path.write_text(body if isinstance(body, str) else json.dumps(body))
    with pytest.raises(CodecKeyError, match=message):
        load_or_create_key_file(path)


def test_the_key_file_creates_its_data_directory_owner_only(tmp_path: Path) -> None:
    # The first command of a fresh install may create the data directory here, before the
    # read model: the directory is 0700 whoever creates it.
    path = tmp_path / "data" / "codec-keys.json"
    load_or_create_key_file(path)
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


async def test_the_workers_codec_stands_in_for_a_refused_payload_and_decrypts_the_rest() -> None:
    inner = EncryptionCodec({"a": KEY_A}, "a")
    [sealed] = await inner.encode([PLAIN])
    stand_in, opened = await RefusingCodec(inner).decode([PLAIN, sealed])
    assert opened == PLAIN
    assert stand_in.metadata["encoding"] == REFUSED_ENCODING
    assert not stand_in.data
    with pytest.raises(ForeignPayloadError, match=REFUSED_MESSAGE):
        RefusedPayloadConverter().from_payload(stand_in)
