"""Delivery activities: send one message (idempotently), or park it in the dead-letter list."""

import random
import time
from collections import Counter
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager

import httpx
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from delivery.addresses import EndpointPolicy
from delivery.channels import DeliveryError, send_email, send_webhook
from delivery.sealing import SecretBox
from delivery.store import DeliveryStore
from delivery.templates import email_message, render_webhook
from models.delivery import (
    DeliveryOutcome,
    DeliveryStatus,
    ExternalChannel,
    OutboundMessage,
    generic_type,
)
from runtime import metrics
from runtime.settings import Settings
from workflows.temporal_policy import PERMANENT_DELIVERY_FAILURE

log = structlog.get_logger(__name__)

PERMANENT = PERMANENT_DELIVERY_FAILURE
TRANSIENT = "TransientDeliveryError"
EMAIL_PURPOSE = "care coordination notice"
WEBHOOK_PURPOSE = "integration event"


def _attempt() -> int:
    return activity.info().attempt


class RateLimiter:
    """A token bucket per webhook endpoint (per worker process): a busy endpoint waits alone."""

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}

    def wait_for(self, endpoint_id: str, per_minute: int, now: float | None = None) -> float:
        """Take a token and return 0, or return how many seconds until one is free."""
        at = time.monotonic() if now is None else now
        capacity = float(max(per_minute, 1))
        tokens, last = self._buckets.get(endpoint_id, (capacity, at))
        tokens = min(capacity, tokens + (at - last) * capacity / 60.0)
        if tokens >= 1.0:
            self._buckets[endpoint_id] = (tokens - 1.0, at)
            return 0.0
        self._buckets[endpoint_id] = (tokens, at)
        return (1.0 - tokens) * 60.0 / capacity


class EndpointSlots:
    """At most ``limit`` sends in flight to one endpoint (per worker process).

    A send that finds every slot taken does not wait in the worker: its workflow waits on a
    durable timer and tries again, so a slow or hostile endpoint holds at most ``limit`` of the
    worker's activity slots, never all of them.
    """

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._busy: Counter[str] = Counter()

    @contextmanager
    def slot(self, endpoint_id: str) -> Iterator[bool]:
        """Hold one of the endpoint's slots for the block; yields False (holding none) when
        all are taken."""
        if self._busy[endpoint_id] >= self._limit:
            yield False
            return
        self._busy[endpoint_id] += 1
        try:
            yield True
        finally:
            self._busy[endpoint_id] -= 1


class DeliveryActivities:
    """Activities sharing the read-model sessions, the settings and one HTTP client."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        http: httpx.AsyncClient,
        policy: EndpointPolicy | None = None,
    ) -> None:
        self._store = DeliveryStore(sessions, SecretBox.from_settings(settings))
        self._settings = settings
        self._http = http
        self._policy = policy or EndpointPolicy.from_settings(settings)
        self._limiter = RateLimiter()
        self._slots = EndpointSlots(settings.webhook_max_in_flight)

    @activity.defn(name="deliver_message")
    async def deliver(self, message: OutboundMessage) -> DeliveryOutcome:
        """Send once: a delivery already sent (a retry after a crash) is not sent again.

        Raises:
            ApplicationError: ``PermanentDeliveryError`` (not retried) or
                ``TransientDeliveryError`` (retried with backoff).
        """
        row = await self._store.get(message.key)
        if row is None or row.status != DeliveryStatus.PENDING.value:
            status = DeliveryStatus(row.status) if row else DeliveryStatus.SKIPPED
            return DeliveryOutcome(status=status)
        if message.channel is ExternalChannel.EMAIL:
            return await self._email(message)
        return await self._webhook(message)

    async def _email(self, message: OutboundMessage) -> DeliveryOutcome:
        staff = await self._store.staff(message.target)
        if staff is None or not staff.active or not staff.email_enabled or not staff.email:
            # Preferences changed (or the account closed) since dispatch: nothing to send.
            return await self._skip(message)
        mail = email_message(message, self._settings.public_url, self._settings.smtp_from,
                             staff.email)  # fmt: skip
        await self._send(message, send_email(self._settings, mail))
        await self._store.mark_sent(message.key, _attempt(), message.target, EMAIL_PURPOSE)
        return _finished(message, DeliveryStatus.SENT)

    async def _webhook(self, message: OutboundMessage) -> DeliveryOutcome:
        endpoint = await self._store.endpoint(message.target)
        if endpoint is None or not endpoint.active:
            return await self._skip(message)
        with self._slots.slot(endpoint.endpoint_id) as free:
            # Every slot taken: a send frees its slot within the timeout; wait about that long.
            wait = (
                self._limiter.wait_for(endpoint.endpoint_id, endpoint.rate_per_minute)
                if free
                else self._settings.delivery_timeout_s * random.uniform(0.5, 1.0)  # noqa: S311
            )
            if wait > 0:
                return DeliveryOutcome(status=DeliveryStatus.PENDING, throttled_for_s=wait)
            body = render_webhook(message, self._settings.public_url)
            secrets = await self._store.endpoint_secrets(endpoint.endpoint_id)
            await self._send(
                message,
                send_webhook(self._http, self._policy, endpoint.url, secrets, body, message.key),
            )
        await self._store.mark_sent(message.key, _attempt(), message.target, WEBHOOK_PURPOSE)
        return _finished(message, DeliveryStatus.SENT)

    async def _skip(self, message: OutboundMessage) -> DeliveryOutcome:
        await self._store.mark(message.key, DeliveryStatus.SKIPPED)
        return _finished(message, DeliveryStatus.SKIPPED)

    async def _send(self, message: OutboundMessage, sending: Awaitable[None]) -> None:
        try:
            await sending
        except DeliveryError as exc:
            await self._store.record_attempt(message.key, _attempt(), str(exc))
            permanent = "true" if exc.permanent else "false"
            metrics.DELIVERY_FAILURES.labels(message.channel.value, permanent).inc()
            log.warning(
                "delivery.failed", key=message.key, channel=message.channel.value,
                error=str(exc), permanent=exc.permanent,
                attempt=activity.info().attempt,
            )  # fmt: skip
            raise ApplicationError(
                str(exc), type=PERMANENT if exc.permanent else TRANSIENT,
                non_retryable=exc.permanent,
            ) from None  # fmt: skip
        log.info(
            "delivery.sent", key=message.key, channel=message.channel.value,
            type=generic_type(message.kind).value,
        )  # fmt: skip

    @activity.defn(name="park_delivery")
    async def park(self, key: str, reason: str) -> None:
        """Move a delivery to the dead-letter list with the reason it failed."""
        await self._store.mark(key, DeliveryStatus.DEAD, reason)
        # The key ends in its channel (delivery_key); the label takes only a known one.
        channel = key.rpartition(":")[2]
        if channel in {c.value for c in ExternalChannel}:
            metrics.DELIVERIES.labels(channel, DeliveryStatus.DEAD.value).inc()
        log.warning("delivery.dead", key=key, reason=reason)


def _finished(message: OutboundMessage, status: DeliveryStatus) -> DeliveryOutcome:
    metrics.DELIVERIES.labels(message.channel.value, status.value).inc()
    return DeliveryOutcome(status=status)
