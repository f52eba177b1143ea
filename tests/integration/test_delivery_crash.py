"""A worker process killed in the middle of a webhook delivery: nothing lost, nothing doubled.

The receiver holds the first request while the worker is killed with SIGKILL; a new worker
retries it once the attempt times out. The receiver refuses the repeat by its idempotency key,
so every event is processed exactly once; e-mails arrive once each by Message-ID. Staff
e-mail, the webhook endpoint and the delivery list are set up and read through the CLI.
"""

import asyncio
import subprocess
import time
from collections import Counter
from typing import Any

from tests.delivery.receivers import Receiver, smtp_server, webhook_receiver
from tests.integration.test_cli_journey import TEAM, Worker, as_json, journeys, stack

__all__ = ["stack"]  # the module-scoped dev server fixture


async def _cli(
    env: dict[str, str], *args: str, ok: bool = True
) -> subprocess.CompletedProcess[str]:
    # In a thread: the receivers are served by this test's event loop.
    return await asyncio.to_thread(journeys, env, *args, ok=ok)


async def _deliveries(env: dict[str, str]) -> list[dict[str, Any]]:
    return list(as_json(await _cli(env, "deliveries", "list", "--limit", "500", "--json")))


async def test_a_worker_killed_mid_delivery_loses_and_doubles_nothing(
    stack: dict[str, str],
) -> None:
    receiver = Receiver(hold_s=6.0, hold_next=1)
    async with smtp_server() as (inbox, smtp_port), webhook_receiver(receiver) as url:
        env = {
            **stack,
            "JOURNEYS_SMTP_HOST": "127.0.0.1",
            "JOURNEYS_SMTP_PORT": str(smtp_port),
            "JOURNEYS_SMTP_STARTTLS": "false",
            "JOURNEYS_DELIVERY_TIMEOUT_S": "3",
            "JOURNEYS_DISPATCH_INTERVAL_S": "0.2",
            "JOURNEYS_WEBHOOK_ALLOW_HOSTS": "127.0.0.1",  # the receiver, on this machine
        }
        await _cli(env, "staff", "add", "th-chen", "--role", "clinician")
        await _cli(env, "staff", "email", "th-chen", "--email", "th-chen@example.org")
        bad = await _cli(env, "staff", "email", "nobody", "--email", "x@example.org", ok=False)
        assert bad.returncode == 1
        assert "staff nobody does not exist" in bad.stderr
        added = await _cli(env, "webhook", "add", "ehr", url, "--rate", "600")
        receiver.secret = added.stdout.strip().splitlines()[-1]
        assert receiver.secret.startswith("whsec_")
        listed = (await _cli(env, "webhook", "list")).stdout
        assert "ehr" in listed
        assert receiver.secret not in listed

        worker = Worker(env)
        worker.start()
        try:
            journey = (await _cli(env, "start", *TEAM, "--by", "ops-1")).stdout.strip()
            deadline = time.monotonic() + 60
            while receiver.requests == 0 and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.1)
            assert receiver.hold_next == 0, "the first webhook never arrived"
            worker.kill()  # while the receiver still holds that request
            before_kill = set(inbox.copies())
            worker.start()
            await _cli(env, "event", journey, "crisis", "--by", "th-chen")

            rows: list[dict[str, Any]] = []
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                rows = await _deliveries(env)
                if rows and all(r["status"] == "sent" for r in rows):
                    break
                await asyncio.sleep(0.5)
        finally:
            worker.kill()

    assert rows
    assert all(r["status"] == "sent" for r in rows), rows
    hooks = [r for r in rows if r["channel"] == "webhook"]
    mails = [r for r in rows if r["channel"] == "email"]
    assert sorted(receiver.processed) == sorted(r["key"] for r in hooks)
    # The held request was sent again after the crash: received twice, processed once.
    repeats = Counter(e["key"] for e in receiver.received)
    assert max(repeats.values()) == 2
    assert any(r["attempts"] >= 2 for r in hooks)
    # SMTP has no idempotency: a send in flight when the worker died (sent, not yet marked)
    # can arrive again, but only ever under its original Message-ID, which mail systems use
    # to drop the repeat; one crash repeats a message at most once, and only a message whose
    # first copy arrived before the crash.
    assert inbox.per_recipient() == Counter({"th-chen@example.org": len(mails)})
    copies = inbox.copies()
    assert max(copies.values()) <= 2, copies
    assert {m for m, n in copies.items() if n > 1} <= before_kill, (copies, before_kill)
    assert len(mails) >= 2  # the primary clinician hears of both events
