"""Webhooks cannot be aimed inside, cannot hold the worker, and keep their secrets sealed.

Registration goes through the real CLI (``journeys webhook add``) on a real SQLite file; sends
go through the real delivery activity to a real uvicorn receiver on 127.0.0.1.
"""

import asyncio
import base64
import json
import os
import sqlite3
import ssl
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import ActivityEnvironment
from typer.testing import CliRunner

from activities.delivery import DeliveryActivities
from cli.main import app
from delivery.addresses import EndpointPolicy
from delivery.channels import DeliveryError, send_webhook
from delivery.sealing import SecretBox
from delivery.signing import new_secret
from delivery.store import DeliveryStore, NewDelivery
from models.delivery import DeliveryOutcome, DeliveryStatus, ExternalChannel, OutboundMessage
from models.journey import EventKind, Priority
from readmodel.db import create_engine, sessionmaker
from readmodel.migrate import migrate
from runtime.codec import load_or_create_key_file
from runtime.settings import Settings, get_settings
from tests.conftest import TEST_KEY, TEST_KEY_ID
from tests.delivery.receivers import Receiver, webhook_receiver

PUBLIC = "https://93.184.216.34/hook"  # a public address literal: nothing is looked up or sent


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The CLI on a data directory of its own, straight on the read model (no API)."""
    for name in list(os.environ):
        if name.startswith("JOURNEYS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("JOURNEYS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("JOURNEYS_API_URL", "")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def _journeys(*args: str) -> tuple[int, str]:
    get_settings.cache_clear()
    result = CliRunner().invoke(app, list(args), terminal_width=200)
    return result.exit_code, result.output


def _endpoint_rows(data: Path) -> list[tuple[str, str]]:
    if not (data / "journeys.db").exists():
        return []
    with sqlite3.connect(data / "journeys.db") as db:
        return list(db.execute("SELECT endpoint_id, secrets FROM webhook_endpoints"))


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("https://169.254.169.254/latest/meta-data/", "169.254.169.254, a cloud metadata address"),
        ("https://[fd00:ec2::254]/", "fd00:ec2::254, a cloud metadata address"),
        ("http://127.0.0.1:5432", "127.0.0.1: webhooks must use https"),
        ("https://127.0.0.1:5432/", "127.0.0.1, a loopback address"),
        ("https://localhost:5432/", "a loopback address"),  # a name resolving inside
        ("https://[::1]/", "::1, a loopback address"),
        ("https://10.1.2.3/", "10.1.2.3, a private address"),
        ("https://192.168.0.10/", "192.168.0.10, a private address"),
        ("https://172.16.5.4/", "172.16.5.4, a private address"),
        ("https://[fd12:3456::1]/", "fd12:3456::1, a private address"),
        ("https://169.254.10.1/", "169.254.10.1, a link-local address"),
        ("https://0.0.0.0/", "0.0.0.0, the unspecified address"),
        ("https://224.0.0.1/", "224.0.0.1, a multicast address"),
        ("https://240.0.0.1/", "240.0.0.1, a reserved address"),
        ("https://[::ffff:10.0.0.1]/", "a private address"),  # IPv4-mapped IPv6
        ("https://100.64.0.1/", "100.64.0.1, not a public address"),  # shared (CGNAT)
        ("http://hooks.example.org/in", "hooks.example.org: webhooks must use https"),
        ("ftp://hooks.example.org/in", "is not an https URL"),
    ],
)
def test_registering_an_inside_or_plain_http_endpoint_is_refused_and_nothing_stored(
    cli_env: Path, url: str, why: str
) -> None:
    code, output = _journeys("webhook", "add", "ehr", url)
    assert code == 1, output
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    assert lines[0].startswith("error: webhook refused: ")
    assert why in lines[0]
    assert _endpoint_rows(cli_env) == []


def test_the_apis_own_port_is_refused_even_for_an_allowed_host(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JOURNEYS_WEBHOOK_ALLOW_HOSTS", "127.0.0.1, localhost")
    monkeypatch.setenv("JOURNEYS_API_PORT", "8123")
    for url in ("http://127.0.0.1:8123/deliveries", "http://localhost:8123/"):
        code, output = _journeys("webhook", "add", "ehr", url)
        assert code == 1, output
        assert "is this service's own API" in output
    assert _endpoint_rows(cli_env) == []
    # The allow list lets named hosts in, over plain http too (development and tests).
    code, output = _journeys("webhook", "add", "ehr", "http://127.0.0.1:8124/hook")
    assert code == 0, output
    assert [row[0] for row in _endpoint_rows(cli_env)] == ["ehr"]


def test_a_public_https_endpoint_is_registered(cli_env: Path) -> None:
    code, output = _journeys("webhook", "add", "ehr", PUBLIC)
    assert code == 0, output
    assert output.strip().splitlines()[-1].startswith("whsec_")


def _file_bytes(data: Path) -> bytes:
    return b"".join(p.read_bytes() for p in data.glob("journeys.db*"))


async def _secrets_under(data: Path, keys: dict[str, bytes], active: str) -> list[str]:
    engine = create_engine(f"sqlite+aiosqlite:///{data / 'journeys.db'}")
    try:
        store = DeliveryStore(sessionmaker(engine), SecretBox.of(keys, active))
        return await store.endpoint_secrets("ehr")
    finally:
        await engine.dispose()


def _write_ring(path: Path, keys: dict[str, bytes], active: str) -> None:
    encoded = {k: base64.b64encode(v).decode() for k, v in keys.items()}
    path.write_text(json.dumps({"active": active, "keys": encoded}))


def test_secrets_are_sealed_in_the_database_file_and_survive_a_key_rotation(
    cli_env: Path,
) -> None:
    code, output = _journeys("webhook", "add", "ehr", PUBLIC)
    assert code == 0, output
    first = output.strip().splitlines()[-1]
    code, output = _journeys("webhook", "rotate", "ehr")
    assert code == 0, output
    second = output.strip().splitlines()[-1]
    on_disk = _file_bytes(cli_env)
    for secret in (first, second):
        assert secret.encode() not in on_disk
        assert secret.removeprefix("whsec_").encode() not in on_disk

    # Rotate the codec key ring: a new active key, the old one kept to read.
    key_file = cli_env / "codec-keys.json"
    old_keys, old_id = load_or_create_key_file(key_file)
    ring = {**old_keys, "k2": os.urandom(32)}
    _write_ring(key_file, ring, "k2")
    code, output = _journeys("webhook", "list")  # re-seals under the active key
    assert code == 0, output
    assert first not in output
    [(_, stored)] = _endpoint_rows(cli_env)
    assert f"sealed:{old_id}:" not in stored
    assert stored.count("sealed:k2:") == 2
    # The old key can now leave the ring: both secrets still open, newest first.
    assert asyncio.run(_secrets_under(cli_env, {"k2": ring["k2"]}, "k2")) == [second, first]


def test_secrets_stored_in_plain_text_keep_working_and_are_sealed_on_first_use(
    cli_env: Path,
) -> None:
    code, output = _journeys("webhook", "add", "ehr", PUBLIC)
    assert code == 0, output
    legacy = "whsec_" + base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
    with sqlite3.connect(cli_env / "journeys.db") as db:  # a row from before sealing
        db.execute("UPDATE webhook_endpoints SET secrets = ?", (json.dumps([legacy]),))
    keys, active = load_or_create_key_file(cli_env / "codec-keys.json")
    assert asyncio.run(_secrets_under(cli_env, keys, active)) == [legacy]
    assert legacy.encode() not in _file_bytes(cli_env)
    assert asyncio.run(_secrets_under(cli_env, keys, active)) == [legacy]


def _resolving(addresses: dict[str, list[str]], allow: str = "receiver.test") -> EndpointPolicy:
    """A policy allowing ``allow``, whose resolver answers from ``addresses`` (no DNS)."""

    async def resolve(host: str, port: int) -> list[str]:
        return list(addresses[host])

    return EndpointPolicy(frozenset({allow}), frozenset(), resolve)


async def test_the_send_connects_to_the_checked_address_under_the_name() -> None:
    # "receiver.test" exists in no DNS: the request can only arrive through the address the
    # policy resolved and checked, while the receiver still sees the name it was given.
    receiver = Receiver(secret=new_secret())
    async with webhook_receiver(receiver) as url, httpx.AsyncClient() as http:
        named = url.replace("127.0.0.1", "receiver.test")
        policy = _resolving({"receiver.test": ["127.0.0.1"]})
        await send_webhook(http, policy, named, [receiver.secret], b"{}", "J-1:1:ehr:webhook")
    assert receiver.hosts == [named.split("/")[2]]
    assert list(receiver.processed) == ["J-1:1:ehr:webhook"]


async def test_https_to_the_checked_address_verifies_the_certificate_for_the_name(
    tmp_path: Path,
) -> None:
    # The certificate names only "receiver.test", not 127.0.0.1: the pinned connection must
    # send the name (SNI) and verify the certificate against it, or the send fails.
    ca = _certificates(tmp_path, "receiver.test")
    receiver = Receiver(secret=new_secret())
    trusted = ssl.create_default_context(cafile=ca)
    async with (
        webhook_receiver(receiver, ssl_certfile=str(tmp_path / "cert.pem"),
                         ssl_keyfile=str(tmp_path / "key.pem")) as url,
        httpx.AsyncClient(verify=trusted) as http,
    ):  # fmt: skip
        named = url.replace("127.0.0.1", "receiver.test")
        policy = _resolving({"receiver.test": ["127.0.0.1"]})
        await send_webhook(http, policy, named, [receiver.secret], b"{}", "J-1:2:ehr:webhook")
        wrong = _resolving({"other.test": ["127.0.0.1"]}, allow="other.test")
        with pytest.raises(DeliveryError, match="HTTP unavailable: ConnectError"):
            await send_webhook(http, wrong, url.replace("127.0.0.1", "other.test"),
                               [receiver.secret], b"{}", "J-1:3:ehr:webhook")  # fmt: skip
    assert list(receiver.processed) == ["J-1:2:ehr:webhook"]


def _certificates(directory: Path, name: str) -> str:
    """A throw-away CA and a server certificate for ``name`` (cert.pem, key.pem); the CA's path."""
    now = datetime.now(UTC)

    def issue(subject: str, key: ec.EllipticCurvePrivateKey, issuer: str,
              signer: ec.EllipticCurvePrivateKey, ca: bool) -> x509.Certificate:  # fmt: skip
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(hours=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if ca:
            builder = builder.add_extension(
                x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                              content_commitment=False, key_encipherment=False,
                              data_encipherment=False, key_agreement=False,
                              encipher_only=False, decipher_only=False),
                critical=True,
            )  # fmt: skip
        else:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False
            )
        return builder.sign(signer, hashes.SHA256())

    ca_key, server_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    ca_cert = issue("test CA", ca_key, "test CA", ca_key, ca=True)
    server_cert = issue(name, server_key, "test CA", ca_key, ca=False)
    (directory / "ca.pem").write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    (directory / "cert.pem").write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    (directory / "key.pem").write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(directory / "ca.pem")


async def test_a_redirect_is_not_followed_and_fails_permanently() -> None:
    receiver = Receiver(secret=new_secret(), fail_status=302, fail_next=1)
    async with webhook_receiver(receiver) as url, httpx.AsyncClient() as http:
        policy = _resolving({"receiver.test": ["127.0.0.1"]})
        with pytest.raises(DeliveryError) as refused:
            await send_webhook(http, policy, url.replace("127.0.0.1", "receiver.test"),
                               [receiver.secret], b"{}", "J-1:4:ehr:webhook")  # fmt: skip
    assert refused.value.permanent
    assert str(refused.value) == "HTTP 302 (redirects are not followed)"
    assert receiver.requests == 1


async def test_a_name_re_pointed_inside_before_a_send_is_refused_permanently() -> None:
    answers = iter([["93.184.216.34"], ["93.184.216.34", "10.0.0.7"]])

    async def rebinding(host: str, port: int) -> list[str]:
        return next(answers)

    policy = EndpointPolicy(frozenset(), frozenset(), rebinding)
    await policy.target("https://hooks.example.org/in")  # registered while public
    async with httpx.AsyncClient() as http:
        with pytest.raises(DeliveryError) as refused:
            await send_webhook(http, policy, "https://hooks.example.org/in", [], b"{}", "k")
    assert refused.value.permanent
    assert str(refused.value) == (
        "refused endpoint: hooks.example.org resolves to 10.0.0.7, a private address"
    )


def _message(n: int) -> OutboundMessage:
    return OutboundMessage(
        key=f"J-CAP:{n}:ehr:webhook", channel=ExternalChannel.WEBHOOK, target="ehr",
        journey_id="J-CAP", seq=n, kind=EventKind.PHASE_CHANGED, priority=Priority.ROUTINE,
        occurred_at=datetime.now(UTC),
    )  # fmt: skip


@asynccontextmanager
async def _read_model(directory: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    url = f"sqlite+aiosqlite:///{directory / 'journeys.db'}"
    await migrate(url)
    engine = create_engine(url)
    try:
        yield sessionmaker(engine)
    finally:
        await engine.dispose()


async def test_a_slow_endpoint_gets_at_most_the_cap_in_flight(tmp_path: Path) -> None:
    settings = Settings(
        webhook_allow_hosts=("127.0.0.1",), data_dir=tmp_path, delivery_timeout_s=30,
        codec_keys={TEST_KEY_ID: SecretStr(base64.b64encode(TEST_KEY).decode())},
    )  # fmt: skip
    cap = settings.webhook_max_in_flight
    assert cap == 4  # the default
    gate = asyncio.Event()
    receiver = Receiver(gate=gate)
    messages = [_message(n) for n in range(1, cap + 2)]
    async with (
        _read_model(tmp_path) as sessions,
        webhook_receiver(receiver) as url,
        httpx.AsyncClient(timeout=30) as http,
    ):
        store = DeliveryStore(sessions, SecretBox.from_settings(settings))
        receiver.secret = await store.add_endpoint("ehr", url, [], 6000)
        async with store.dispatching() as round_:
            await round_.add_deliveries([_pending(m) for m in messages])
        activities = DeliveryActivities(sessions, settings, http)
        env = ActivityEnvironment()
        sends = [asyncio.ensure_future(env.run(activities.deliver, m)) for m in messages]
        # Bounded wait until the cap is reached and the send past it came back to wait on a
        # durable timer (or, without a cap, every send reached the receiver).
        for _ in range(600):
            if receiver.in_flight > cap or (
                receiver.in_flight == cap and sum(s.done() for s in sends) == 1
            ):
                break
            await asyncio.sleep(0.05)
        in_flight_at_cap = receiver.in_flight
        gate.set()
        outcomes = await asyncio.gather(*sends, return_exceptions=True)
        throttled = [m for m, o in zip(messages, outcomes, strict=True) if _waits(o)]
        again = [await env.run(activities.deliver, m) for m in throttled]
    assert receiver.max_in_flight == in_flight_at_cap == cap
    assert len(throttled) == 1  # it waited without using up an attempt
    assert [getattr(o, "status", o) for o in outcomes].count(DeliveryStatus.SENT) == cap
    assert [o.status for o in again] == [DeliveryStatus.SENT]
    assert sorted(receiver.processed) == sorted(m.key for m in messages)


def _waits(outcome: object) -> bool:
    return isinstance(outcome, DeliveryOutcome) and outcome.throttled_for_s is not None


def _pending(message: OutboundMessage) -> NewDelivery:
    return NewDelivery(
        key=message.key, channel=message.channel.value, target=message.target,
        journey_id=message.journey_id, seq=message.seq, kind=message.kind.value,
        priority=message.priority.value, occurred_at=message.occurred_at, due_at=None,
    )  # fmt: skip
