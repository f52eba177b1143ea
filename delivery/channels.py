"""Sending over SMTP and HTTP, with every failure classified as transient or permanent."""

from email.message import EmailMessage

import aiosmtplib
import httpx

from delivery.addresses import EndpointPolicy, RefusedEndpointError
from delivery.signing import signed_headers
from runtime.settings import Settings


class DeliveryError(Exception):
    """A send failed; ``permanent`` failures are not retried (they go to the dead-letter list)."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


# Statuses worth retrying: the receiver is busy, timed out or hit a conflict that may clear.
RETRYABLE_HTTP = frozenset({408, 409, 425, 429})


async def send_email(settings: Settings, mail: EmailMessage) -> None:
    """Send one e-mail through the configured SMTP server.

    Raises:
        DeliveryError: permanent for a refused recipient or a 5xx reply, else transient.
    """
    if settings.smtp_host is None:
        raise DeliveryError("no SMTP server is configured (JOURNEYS_SMTP_HOST)", permanent=True)
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    try:
        await aiosmtplib.send(
            mail,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            start_tls=settings.smtp_starttls,
            username=settings.smtp_username,
            password=password,
            timeout=settings.delivery_timeout_s,
        )
    except aiosmtplib.SMTPRecipientsRefused as exc:
        raise DeliveryError(f"recipient refused: {_codes(exc)}", permanent=True) from None
    except aiosmtplib.SMTPResponseException as exc:
        raise DeliveryError(f"SMTP {exc.code}", permanent=exc.code >= 500) from None
    except (aiosmtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"SMTP unavailable: {type(exc).__name__}", permanent=False) from None


def _codes(exc: aiosmtplib.SMTPRecipientsRefused) -> str:
    return ",".join(str(r.code) for r in exc.recipients)


async def send_webhook(
    http: httpx.AsyncClient,
    policy: EndpointPolicy,
    url: str,
    secrets: list[str],
    body: bytes,
    key: str,
) -> None:
    """POST one signed webhook delivery (``webhook-id`` is its idempotency key).

    The host is resolved and checked now, and the request goes to the checked address on a
    connection of its own (the Host header, SNI and the certificate check keep the name), so
    a name re-pointed inside is never reached.

    Raises:
        DeliveryError: permanent for a refused URL or address, a redirect (never followed)
            and 4xx answers other than 408, 409, 425 and 429; else transient (5xx, timeouts,
            refused connections).
    """
    try:
        target = await policy.target(url)
    except RefusedEndpointError as exc:
        raise DeliveryError(f"refused endpoint: {exc}", permanent=True) from None
    headers = {
        # A connection is to an address checked for one name: never reused for another.
        "Connection": "close",
        "Content-Type": "application/json",
        "Host": target.host_header,
        "Idempotency-Key": key,
        **signed_headers(secrets, key, body),
        "User-Agent": "recovery-journeys",
    }
    try:
        response = await http.post(
            target.pinned_url, content=body, headers=headers,
            extensions={"sni_hostname": target.host}, follow_redirects=False,
        )  # fmt: skip
    except httpx.HTTPError as exc:
        raise DeliveryError(f"HTTP unavailable: {type(exc).__name__}", permanent=False) from None
    if response.is_success:
        return
    code = response.status_code
    if 300 <= code < 400:
        raise DeliveryError(f"HTTP {code} (redirects are not followed)", permanent=True)
    permanent = 400 <= code < 500 and code not in RETRYABLE_HTTP
    raise DeliveryError(f"HTTP {code}", permanent=permanent)
