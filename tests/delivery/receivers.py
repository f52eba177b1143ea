"""Real receivers on 127.0.0.1: an SMTP server (aiosmtpd) and a webhook receiver (uvicorn)."""

import asyncio
import email
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi import FastAPI, Request, Response
from standardwebhooks import Webhook, WebhookVerificationError

from tests.portpick import free_port
from tests.serving import served


@dataclass
class Inbox:
    """Every e-mail the SMTP server accepted."""

    messages: list[tuple[str, Message]] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """Store the message for each recipient."""
        parsed = email.message_from_bytes(envelope.content)  # type: ignore[arg-type]
        for rcpt in envelope.rcpt_tos:
            self.messages.append((rcpt, parsed))
        return "250 OK"

    def per_recipient(self) -> Counter[str]:
        """How many distinct messages (by Message-ID) each address received."""
        return Counter(rcpt for rcpt, _ in {(r, m["Message-ID"]): m for r, m in self.messages})

    def duplicates(self) -> int:
        """Messages received more than once (same recipient and Message-ID)."""
        return sum(n - 1 for n in self.copies().values())

    def copies(self) -> Counter[tuple[str, str]]:
        """How often each (recipient, Message-ID) arrived."""
        return Counter((r, str(m["Message-ID"])) for r, m in self.messages)


@asynccontextmanager
async def smtp_server() -> AsyncIterator[tuple[Inbox, int]]:
    """aiosmtpd on a free port of 127.0.0.1."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def verified(secret: str, body: bytes, headers: dict[str, str]) -> bool:
    """Whether the Standard Webhooks library accepts the delivery under ``secret``."""
    try:
        Webhook(secret).verify(body, headers)
    except WebhookVerificationError:
        return False
    return True


@dataclass
class Receiver:
    """A webhook receiver that verifies signatures (with the ``standardwebhooks`` library),
    refuses repeats by ``webhook-id`` and can misbehave."""

    secret: str = ""
    # Secrets of further endpoints pointing here (their deliveries verify too).
    other_secrets: list[str] = field(default_factory=list)
    # Answer this status to the next ``fail_next`` requests (then 200).
    fail_status: int = 500
    fail_next: int = 0
    # Hold the next ``hold_next`` requests this long before answering.
    hold_s: float = 0.0
    hold_next: int = 0
    received: list[dict[str, Any]] = field(default_factory=list)
    processed: dict[str, dict[str, Any]] = field(default_factory=dict)
    # While set and not yet open, every request waits for it (a slow endpoint).
    gate: asyncio.Event | None = None
    requests: int = 0
    bad_signatures: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    # The Host header of each request (the name the sender was given, not its address).
    hosts: list[str] = field(default_factory=list)

    def app(self) -> FastAPI:
        """The receiving app."""
        app = FastAPI()

        @app.post("/hook")
        async def hook(request: Request) -> Response:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            try:
                return await self._answer(request)
            finally:
                self.in_flight -= 1

        return app

    async def _answer(self, request: Request) -> Response:
        self.requests += 1
        self.hosts.append(request.headers.get("host", ""))
        body = await request.body()
        if self.gate is not None:
            await self.gate.wait()
        if self.hold_next > 0:
            self.hold_next -= 1
            await asyncio.sleep(self.hold_s)
        if self.fail_next > 0:
            self.fail_next -= 1
            return Response(status_code=self.fail_status)
        headers = dict(request.headers)
        if not any(verified(s, body, headers) for s in [self.secret, *self.other_secrets]):
            self.bad_signatures += 1
            return Response(status_code=401)
        key = request.headers["webhook-id"]
        entry = {"key": key, "body": body.decode()}
        self.received.append(entry)
        self.processed.setdefault(key, entry)  # a repeat is acknowledged, not processed
        return Response(status_code=200)


@asynccontextmanager
async def webhook_receiver(receiver: Receiver, **tls: str) -> AsyncIterator[str]:
    """Serve the receiver (over https with ``ssl_certfile`` and ``ssl_keyfile``); yields its URL."""
    async with served(receiver.app(), **tls) as base:
        yield f"{base}/hook"
