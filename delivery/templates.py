"""The allow-listed templates of external messages.

Only these render anything that leaves the system, and they see only an :class:`OutboundMessage`
(generic event type, opaque journey id, priority, due time, a link into the app): no name, date
of birth, phase or level of care, instrument or score, medication, facility or free text can
reach them, because none is in their input. ``tests/delivery/test_templates.py`` renders every
template for every event kind and proves it.
"""

import json
from dataclasses import dataclass
from email.message import EmailMessage

from models.delivery import GenericType, OutboundMessage, generic_type

SUBJECTS = {
    GenericType.CARE_UPDATE: "A journey on your care team was updated",
    GenericType.WORK_DUE: "Work is due on a journey on your care team",
    GenericType.WORK_OVERDUE: "Work is overdue on a journey on your care team",
    GenericType.MILESTONE: "A journey on your care team reached a milestone",
}

EMAIL_BODY = """\
{headline}.

Journey: {journey_id}
Priority: {priority}
Due: {due}

Open it in Recovery Journeys (sign-in required): {link}

This message names no client and no clinical detail by design.
"""


@dataclass(frozen=True)
class Rendered:
    """An external message ready to send."""

    subject: str
    body: str


def link(message: OutboundMessage, public_url: str) -> str:
    """The journey's page in the app."""
    return f"{public_url.rstrip('/')}/ui/journeys/{message.journey_id}"


def render_email(message: OutboundMessage, public_url: str) -> Rendered:
    """Subject and plain-text body of a notification e-mail."""
    kind = generic_type(message.kind)
    urgent = "[urgent] " if message.priority.value == "urgent" else ""
    return Rendered(
        subject=f"{urgent}{SUBJECTS[kind]}",
        body=EMAIL_BODY.format(
            headline=SUBJECTS[kind],
            journey_id=message.journey_id,
            priority=message.priority.value,
            due=message.due_at.isoformat() if message.due_at else "-",
            link=link(message, public_url),
        ),
    )


def message_id(key: str) -> str:
    """The e-mail Message-ID of a key (``:`` is not allowed there; ids never contain ``/``)."""
    return f"<{key.replace(':', '/')}@recovery-journeys>"


def email_message(message: OutboundMessage, public_url: str, sender: str, to: str) -> EmailMessage:
    """The MIME message; its Message-ID carries the idempotency key."""
    rendered = render_email(message, public_url)
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = rendered.subject
    mail["Message-ID"] = message_id(message.key)
    mail["X-Journeys-Idempotency-Key"] = message.key
    mail.set_content(rendered.body)
    return mail


def render_webhook(message: OutboundMessage, public_url: str) -> bytes:
    """The JSON body of a webhook delivery."""
    body = {
        "id": message.key,
        "type": generic_type(message.kind).value,
        "journey_id": message.journey_id,
        "priority": message.priority.value,
        "due_at": message.due_at.isoformat() if message.due_at else None,
        "link": link(message, public_url),
    }
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
