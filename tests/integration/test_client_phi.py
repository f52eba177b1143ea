"""The client's identity stays out of everything but the client record, end to end.

A client with a distinctive name, date of birth, MRN, phone, address and payer member id is
admitted through the CLI against the embedded Temporal server (persisted to its SQLite file),
a real worker and dispatcher send e-mail (aiosmtpd) and webhooks (a real receiver) about the
journey; then none of those values appears in the Temporal database file, the worker's log,
the e-mails or the webhook bodies, while an authorized staff member reads them back.
"""

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.delivery.receivers import Receiver, smtp_server, webhook_receiver
from tests.integration.test_cli_journey import ROOT, TEAM, as_json, journeys, stack

__all__ = ["stack"]  # the module-scoped dev server fixture

SECRETS = {
    "family name": "Quillfeather",
    "given name": "Xanthippe",
    "date of birth": "1977-07-07",
    "MRN": "MRN-77Q7731",
    "phone": "+1 555 0199 42",
    "address": "41 Larkspur Mews",
    "payer member id": "PAYR-9931-ZZ",
}
RECORD = {
    "legal_name": {"given": SECRETS["given name"], "family": SECRETS["family name"]},
    "date_of_birth": SECRETS["date of birth"],
    "identifiers": [{"system": "urn:ehr:mrn", "value": SECRETS["MRN"]}],
    "phone": SECRETS["phone"],
    "address": {"lines": [SECRETS["address"]], "city": "Springfield"},
    "payer": {"name": "Statewide Health", "member_id": SECRETS["payer member id"]},
}


async def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(journeys, env, *args)


def _found(blob: bytes) -> list[str]:
    return [what for what, value in SECRETS.items() if value.encode() in blob]


def _worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """The real worker, its log (structured JSON) kept in ``log``."""
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "worker.py"], env=env, cwd=ROOT, stdout=out,
                                stderr=subprocess.STDOUT)  # fmt: skip


def _found_in_files(data: Path, log: Path) -> dict[str, list[str]]:
    """What of the client's identity each Temporal database file and the log holds."""
    files = sorted(data.glob("temporal.db*"))
    assert files, "the embedded server keeps no database file"
    return {str(p): _found(p.read_bytes()) for p in [*files, log] if _found(p.read_bytes())}


async def test_a_clients_identity_appears_only_in_the_client_record(
    stack: dict[str, str], tmp_path: Path
) -> None:
    receiver = Receiver()
    async with smtp_server() as (inbox, smtp_port), webhook_receiver(receiver) as url:
        env = {
            **stack, "JOURNEYS_SMTP_HOST": "127.0.0.1", "JOURNEYS_SMTP_PORT": str(smtp_port),
            "JOURNEYS_SMTP_STARTTLS": "false", "JOURNEYS_DISPATCH_INTERVAL_S": "0.2",
            "JOURNEYS_WEBHOOK_ALLOW_HOSTS": "127.0.0.1",
        }  # fmt: skip
        await _cli(env, "staff", "add", "th-chen", "--role", "clinician")
        await _cli(env, "staff", "email", "th-chen", "--email", "th-chen@example.org")
        added = await _cli(env, "webhook", "add", "ehr", url, "--rate", "600")
        receiver.secret = added.stdout.strip().splitlines()[-1]
        record_file = tmp_path / "record.json"
        record_file.write_text(json.dumps(RECORD))
        client = as_json(await _cli(env, "client", "add", "--file", str(record_file),
                                    "--by", "ops-1", "--json"))["client_id"]  # fmt: skip
        worker = _worker(env, tmp_path / "worker.log")
        try:
            journey = (await _cli(env, "start", *TEAM, "--client", client,
                                  "--by", "ops-1")).stdout.strip()  # fmt: skip
            await _cli(env, "event", journey, "crisis", "--by", "th-chen")
            deadline = time.monotonic() + 60
            rows: list[dict[str, Any]] = []
            while time.monotonic() < deadline:
                rows = as_json(await _cli(env, "deliveries", "list", "--json"))
                if len(rows) >= 4 and all(r["status"] == "sent" for r in rows):
                    break
                await asyncio.sleep(0.5)
            shown = await _cli(env, "client", "show", client, "--by", "th-chen", "--json")
            live = await _cli(env, "show", journey, "--by", "th-chen", "--json")
        finally:
            worker.terminate()
            await asyncio.to_thread(worker.wait, 30)

    assert rows
    assert all(r["status"] == "sent" for r in rows), rows
    assert inbox.messages
    assert receiver.processed
    # Visible to an authorized member of staff, from the client record.
    assert _found(shown.stdout.encode()) == list(SECRETS)
    # Nowhere else: the journey's live state, Temporal's database, the worker's log, the
    # e-mails and the webhooks carry the client's opaque id at most.
    assert client in live.stdout
    assert _found(live.stdout.encode()) == []
    found = await asyncio.to_thread(
        _found_in_files, Path(env["JOURNEYS_DATA_DIR"]), tmp_path / "worker.log"
    )
    assert found == {}
    for _, mail in inbox.messages:
        assert _found(mail.as_bytes()) == []
    for delivery in receiver.processed.values():
        assert _found(str(delivery).encode()) == []
