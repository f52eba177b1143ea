"""Staff accounts, scope checks and the audit log."""

import hashlib
import secrets
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.staff import StaffRole
from models.views import AuditEntry, StaffAccount
from readmodel.tables import AuditRow, MemberRow, StaffRow

SEES_ALL = frozenset({StaffRole.SUPERVISOR, StaffRole.OPERATIONS, StaffRole.ADMIN})
# Who sees and replays the dead-letter list of external deliveries.
RUNS_DELIVERIES = frozenset({StaffRole.OPERATIONS, StaffRole.ADMIN})


class StaffExistsError(Exception):
    """A staff account with that id already exists."""


def hash_token(token: str) -> str:
    """SHA-256 of a high-entropy random token (a slow hash adds nothing for such tokens)."""
    return hashlib.sha256(token.encode()).hexdigest()


class AccessRepository:
    """Staff accounts, care-team scope and the append-only audit log."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def add_staff(self, staff_id: str, role: StaffRole) -> str:
        """Create an account; returns its token, which is shown once and never stored."""
        token = secrets.token_urlsafe(32)
        row = StaffRow(
            staff_id=staff_id,
            role=role.value,
            token_hash=hash_token(token),
            created_at=datetime.now(UTC),
            active=True,
        )
        try:
            async with self._sessions.begin() as session:
                session.add(row)
        except IntegrityError:
            raise StaffExistsError(f"staff {staff_id} already exists") from None
        return token

    async def authenticate(self, token: str) -> StaffAccount | None:
        """The active account holding ``token``, if any."""
        async with self._sessions() as session:
            row = await session.scalar(
                select(StaffRow).where(StaffRow.token_hash == hash_token(token), StaffRow.active)
            )
        return StaffAccount(staff_id=row.staff_id, role=StaffRole(row.role)) if row else None

    async def can_see(self, staff: StaffAccount, journey_id: str) -> bool | None:
        """Operations, supervisors and admins see all; clinicians their care teams' journeys.

        None when the read model does not know the journey yet (the caller decides).
        """
        if staff.role in SEES_ALL:
            return True
        query = select(MemberRow.member_id).where(MemberRow.journey_id == journey_id)
        async with self._sessions() as session:
            members = (await session.scalars(query)).all()
        return staff.staff_id in members if members else None

    async def record(
        self,
        actor: str,
        action: str,
        journey_id: str | None,
        outcome: str,
        detail: str | None = None,
    ) -> None:
        """Append one audit entry; ``detail`` is cut to the column's 500 characters."""
        async with self._sessions.begin() as session:
            session.add(
                AuditRow(
                    at=datetime.now(UTC),
                    actor=actor,
                    action=action,
                    journey_id=journey_id,
                    outcome=outcome,
                    detail=detail[:500] if detail is not None else None,
                )
            )

    async def audit_log(self, limit: int = 100, journey_id: str | None = None) -> list[AuditEntry]:
        """Newest audit entries first."""
        query = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
        if journey_id is not None:
            query = query.where(AuditRow.journey_id == journey_id)
        async with self._sessions() as session:
            return [AuditEntry.model_validate(r) for r in (await session.scalars(query)).all()]
