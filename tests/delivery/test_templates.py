"""Nothing leaks: every external template, for every event kind, carries no clinical detail."""

import base64
import json
import time
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from delivery.signing import new_secret, signed_headers
from delivery.templates import SUBJECTS, email_message, render_email, render_webhook
from models.delivery import ExternalChannel, GenericType, OutboundMessage, generic_type
from models.journey import EventKind, Phase, Priority
from tests.builders import policy

PUBLIC = "https://journeys.example.org"
AT = datetime(2026, 3, 4, 10, 30, tzinfo=UTC)


def _message(kind: EventKind, priority: Priority = Priority.URGENT) -> OutboundMessage:
    return OutboundMessage(
        key=f"J-7Q2K9:{len(kind.value)}:th-chen:email", channel=ExternalChannel.EMAIL,
        target="th-chen", journey_id="J-7Q2K9", seq=12, kind=kind, priority=priority,
        occurred_at=AT, due_at=datetime(2026, 3, 5, 9, 0, tzinfo=UTC),
    )  # fmt: skip


def _forbidden() -> list[str]:
    """What must never appear: names, birth dates, phases, levels of care, instruments, scores,
    medications, facilities, and the journey's own event vocabulary (which names clinical facts)."""
    pol = policy()
    words = [
        "Maria", "Gonzalez", "1984-07-19", "07/19/1984", "buprenorphine", "methadone",
        "naltrexone", "Sunrise House", "Hope Recovery Center", "relapse", "overdose",
        "alcohol", "opioid", "suicid", "self_harm", "self-harm", "withdrawal", "detox",
        "aftercare", "residential", "inpatient", "outpatient", "3.7-WM", "3.5", "2.1",
        "PHQ", "GAD", "AUDIT", "DAST", "CIWA", "COWS", "PCL", "score", "band", "severe",
        "2026-03-04",  # when the event happened (may be an admission date)
    ]  # fmt: skip
    words += [p.value for p in Phase]
    words += [loc.name for loc in pol.levels_of_care]
    # The journey's own event vocabulary, except the generic types external messages may name.
    words += [k.value for k in EventKind if k.value not in {t.value for t in GenericType}]
    assert pol.instruments is not None
    words += [i.code for i in pol.instruments.instruments]
    return words


def _rendered(message: OutboundMessage) -> list[str]:
    email = render_email(message, PUBLIC)
    mime = email_message(message, PUBLIC, "Journeys <no-reply@example.org>", "th@example.org")
    return [email.subject, email.body, mime.as_string(), render_webhook(message, PUBLIC).decode()]


@pytest.mark.parametrize("kind", list(EventKind))
@pytest.mark.parametrize("priority", list(Priority))
def test_no_template_reveals_clinical_detail(kind: EventKind, priority: Priority) -> None:
    message = _message(kind, priority)
    subject, *bodies = _rendered(message)
    for text in [subject, *bodies]:
        lowered = text.lower()
        for word in _forbidden():
            # The only ids allowed through are the opaque journey id and the message key.
            assert word.lower() not in lowered.replace(message.key.lower(), ""), (kind, word)
    assert subject.removeprefix("[urgent] ") == SUBJECTS[generic_type(kind)]
    assert subject.startswith("[urgent] ") is (priority is Priority.URGENT)
    assert all("J-7Q2K9" in body for body in bodies)  # the opaque id, so staff can find it


def test_webhook_body_is_exactly_the_allow_listed_fields() -> None:
    message = _message(EventKind.PLAN_REVIEW_OVERDUE)
    body = json.loads(render_webhook(message, PUBLIC))
    assert body == {
        "id": message.key,
        "type": "work_overdue",
        "journey_id": "J-7Q2K9",
        "priority": "urgent",
        "due_at": "2026-03-05T09:00:00+00:00",
        "link": f"{PUBLIC}/ui/journeys/J-7Q2K9",
    }


def test_every_event_kind_maps_to_a_generic_type_with_a_subject() -> None:
    assert {generic_type(k) for k in EventKind} == set(GenericType)
    assert set(SUBJECTS) == set(GenericType)
    assert generic_type(EventKind.CLINICAL_EVENT_REPORTED) is GenericType.CARE_UPDATE


def test_email_carries_the_idempotency_key_as_its_message_id() -> None:
    message = _message(EventKind.REASSESSMENT_OPENED)
    mime = email_message(message, PUBLIC, "Journeys <no-reply@example.org>", "th@example.org")
    assert mime["Message-ID"] == "<J-7Q2K9/19/th-chen/email@recovery-journeys>"
    assert mime["X-Journeys-Idempotency-Key"] == message.key
    assert mime["Subject"] == "[urgent] Work is due on a journey on your care team"


def test_signatures_verify_under_each_active_secret_and_nothing_else() -> None:
    # Standard Webhooks, checked by its reference library: the headers, "v1,<base64>" per
    # secret, space-separated, webhook-id the delivery's idempotency key.
    body, key, now = b'{"id":"k"}', "J-7Q2K9:3:ehr:webhook", int(time.time())
    new, old, other = new_secret(), new_secret(), new_secret()
    headers = signed_headers([new, old], key, body, timestamp=now)
    assert set(headers) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert headers["webhook-id"] == key
    assert all(s.startswith("v1,") for s in headers["webhook-signature"].split(" "))
    assert Webhook(new).verify(body, headers) == {"id": "k"}
    assert Webhook(old).verify(body, headers) == {"id": "k"}  # rotation without downtime
    for secret, data, sent in [
        (other, body, headers),  # another secret
        (new, body + b" ", headers),  # another body
        (new, body, {**headers, "webhook-id": "other"}),  # another delivery's id
        (new, body, signed_headers([new], key, body, timestamp=now - 301)),  # stale: replayed
        (new, body, {k: v for k, v in headers.items() if k != "webhook-id"}),
    ]:
        with pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(data, sent)


def test_secrets_are_whsec_base64_of_32_random_bytes() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32
    assert new_secret() != secret
