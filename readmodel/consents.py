"""Consents and the disclosure log: every disclosure outside the program is checked against
an active consent covering its recipient, purpose and data, and logged with the Part 2 notice."""

import secrets
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.consent import (
    PART2_NOTICE,
    Consent,
    ConsentTerms,
    DataClass,
    Disclosure,
    Purpose,
)
from readmodel.tables import ConsentRow, DisclosureRow

_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def _new_id(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(12))


class UnknownConsentError(Exception):
    """No consent of this client has that id."""


class DisclosureRefusedError(Exception):
    """No active consent covers the disclosure; nothing was disclosed."""


def _consent(row: ConsentRow) -> Consent:
    return Consent.model_validate(
        {
            "consent_id": row.consent_id, "client_id": row.client_id,
            "recipient": row.recipient, "recipient_kind": row.recipient_kind,
            "purpose": row.purpose, "purpose_detail": row.purpose_detail,
            "data": [DataClass(d) for d in row.data], "effective_from": row.effective_from,
            "expires_on": row.expires_on, "signed_at": row.signed_at,
            "recorded_by": row.recorded_by, "recorded_at": row.recorded_at,
            "revoked_at": row.revoked_at, "revoked_by": row.revoked_by,
        },
        strict=False,
    )  # fmt: skip


def _disclosure(row: DisclosureRow) -> Disclosure:
    return Disclosure.model_validate(
        {
            "disclosure_id": row.disclosure_id, "client_id": row.client_id,
            "consent_id": row.consent_id, "recipient": row.recipient, "purpose": row.purpose,
            "data": [DataClass(d) for d in row.data], "what": row.what, "channel": row.channel,
            "disclosed_at": row.disclosed_at, "disclosed_by": row.disclosed_by,
            "notice": row.notice,
        },
        strict=False,
    )  # fmt: skip


class ConsentStore:
    """Consents, revocations and disclosures of clients' records."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def add(self, client_id: str, terms: ConsentTerms, by: str) -> Consent:
        """Record a signed consent."""
        row = ConsentRow(
            consent_id=_new_id("CONS-"), client_id=client_id, recipient=terms.recipient,
            recipient_kind=terms.recipient_kind.value, purpose=terms.purpose.value,
            purpose_detail=terms.purpose_detail, data=[d.value for d in terms.data],
            effective_from=terms.effective_from, expires_on=terms.expires_on,
            signed_at=terms.signed_at, recorded_by=by, recorded_at=datetime.now(UTC),
        )  # fmt: skip
        async with self._sessions.begin() as session:
            session.add(row)
        return _consent(row)

    async def revoke(self, client_id: str, consent_id: str, by: str) -> Consent:
        """Revoke a consent: no disclosure under it from this moment on (a repeat is a no-op).

        Raises:
            UnknownConsentError: the client has no consent with that id.
        """
        async with self._sessions.begin() as session:
            row = await session.get(ConsentRow, consent_id, with_for_update=True)
            if row is None or row.client_id != client_id:
                raise UnknownConsentError(f"client {client_id} has no consent {consent_id}")
            if row.revoked_at is None:
                row.revoked_at, row.revoked_by = datetime.now(UTC), by
            return _consent(row)

    async def consents(self, client_id: str) -> list[Consent]:
        """The client's consents, newest first, revoked and expired ones included."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(ConsentRow)
                .where(ConsentRow.client_id == client_id)
                .order_by(ConsentRow.recorded_at.desc(), ConsentRow.consent_id)
            )
            return [_consent(r) for r in rows]

    async def covering(
        self,
        client_id: str,
        recipient: str,
        purpose: Purpose,
        data: list[DataClass],
        at: datetime | None = None,
    ) -> Consent:
        """The active consent that allows this disclosure (the most recently signed).

        Raises:
            DisclosureRefusedError: none does; the reason says what is missing.
        """  # fmt: skip
        when = at or datetime.now(UTC)
        consents = await self.consents(client_id)
        allowed = [c for c in consents if c.covers(recipient, purpose, data, when.date())]
        if allowed:
            return max(allowed, key=lambda c: c.signed_at)
        raise DisclosureRefusedError(_why_not(consents, recipient, purpose, when))

    async def disclose(
        self,
        client_id: str,
        consent: Consent,
        data: list[DataClass],
        what: str,
        channel: str,
        by: str,
    ) -> Disclosure:
        """Log a disclosure made under ``consent``, checking the consent again as it is written
        (a revocation an instant before stops it).

        Raises:
            DisclosureRefusedError: the consent no longer covers it.
        """  # fmt: skip
        now = datetime.now(UTC)
        async with self._sessions.begin() as session:
            current = await session.get(ConsentRow, consent.consent_id, with_for_update=True)
            if current is None or not _consent(current).covers(
                consent.recipient, consent.purpose, data, now.date()
            ):
                raise DisclosureRefusedError(f"consent {consent.consent_id} no longer covers it")
            row = DisclosureRow(
                disclosure_id=_new_id("DISC-"), client_id=client_id,
                consent_id=consent.consent_id, recipient=consent.recipient,
                purpose=consent.purpose.value, data=[d.value for d in data], what=what[:500],
                channel=channel, disclosed_at=now, disclosed_by=by, notice=PART2_NOTICE,
            )  # fmt: skip
            session.add(row)
        return _disclosure(row)

    async def disclosures(self, client_id: str) -> list[Disclosure]:
        """The client's accounting of disclosures, newest first."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(DisclosureRow)
                .where(DisclosureRow.client_id == client_id)
                .order_by(DisclosureRow.disclosed_at.desc(), DisclosureRow.disclosure_id)
            )
            return [_disclosure(r) for r in rows]


def _why_not(consents: list[Consent], recipient: str, purpose: Purpose, at: datetime) -> str:
    """Why no consent covers a disclosure, in one line for the refusal and the audit log."""
    mine = [c for c in consents if c.recipient.casefold() == recipient.strip().casefold()]
    if not mine:
        return "no consent names this recipient"
    if all(c.revoked_at is not None for c in mine):
        return "the consent for this recipient was revoked"
    live = [c for c in mine if c.revoked_at is None]
    today = at.date()
    current = [c for c in live if c.effective_from <= today
               and (c.expires_on is None or today <= c.expires_on)]  # fmt: skip
    if not current:
        if any(c.effective_from > today for c in live):
            return "the consent for this recipient is not yet in effect"
        return "the consent for this recipient has expired"
    if all(c.purpose is not purpose for c in current):
        return f"no consent for this recipient allows the purpose {purpose.value}"
    return "no consent for this recipient covers all of the data asked for"
