"""Staff accounts, scope checks and the audit log."""

import hashlib
import hmac
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.staff import StaffRole
from models.staff_values import check_staff_id
from models.views import AuditEntry, StaffAccount
from readmodel.tables import AuditRow, LoginFailureRow, MemberRow, StaffRow, StaffSessionRow
from runtime.settings import Settings

SEES_ALL = frozenset({StaffRole.SUPERVISOR, StaffRole.OPERATIONS, StaffRole.ADMIN})
# Who sees and replays the dead-letter list of external deliveries.
RUNS_DELIVERIES = frozenset({StaffRole.OPERATIONS, StaffRole.ADMIN})


class StaffExistsError(Exception):
    """A staff account with that id already exists."""


class UnknownStaffError(Exception):
    """No staff account has that id."""


@dataclass(frozen=True)
class SessionRules:
    """How long sessions and tokens live, and how many bad logins a window allows."""

    idle: timedelta = timedelta(minutes=30)
    absolute: timedelta = timedelta(hours=12)
    token_lifetime: timedelta = timedelta(days=90)
    login_failures: int = 5
    login_window: timedelta = timedelta(minutes=15)


def session_rules(settings: Settings) -> SessionRules:
    """Session and token lifetimes and the login limit, as the settings say."""
    return SessionRules(
        idle=timedelta(minutes=settings.session_idle_minutes),
        absolute=timedelta(hours=settings.session_absolute_hours),
        token_lifetime=timedelta(days=settings.token_lifetime_days),
        login_failures=settings.login_max_failures,
        login_window=timedelta(minutes=settings.login_window_minutes),
    )


@dataclass(frozen=True)
class Session:
    """A dashboard session: who, and the token its forms must carry."""

    staff: StaffAccount
    csrf: str


def _system_now() -> datetime:
    return datetime.now(UTC)


def csrf_token(secret: str) -> str:
    """The CSRF token of a session (or a login form), derived from its secret id."""
    return hmac.new(secret.encode(), b"csrf", hashlib.sha256).hexdigest()


def hash_token(token: str) -> str:
    """SHA-256 of a high-entropy random token (a slow hash adds nothing for such tokens)."""
    return hashlib.sha256(token.encode()).hexdigest()


class AccessRepository:
    """Staff accounts, care-team scope and the append-only audit log."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        rules: SessionRules | None = None,
        clock: Callable[[], datetime] = _system_now,
    ) -> None:
        self._sessions = sessions
        self.rules = rules or SessionRules()
        self._now = clock

    async def add_staff(self, staff_id: str, role: StaffRole) -> str:
        """Create an account; returns its token, which is shown once and never stored.

        Raises:
            InvalidStaffValueError: ``staff_id`` is not an opaque id (nothing is stored).
        """
        check_staff_id(staff_id)
        token = secrets.token_urlsafe(32)
        now = self._now()
        row = StaffRow(
            staff_id=staff_id,
            role=role.value,
            token_hash=hash_token(token),
            created_at=now,
            active=True,
            token_expires_at=now + self.rules.token_lifetime,
        )
        try:
            async with self._sessions.begin() as session:
                session.add(row)
        except IntegrityError:
            raise StaffExistsError(f"staff {staff_id} already exists") from None
        return token

    async def authenticate(self, token: str, staff_id: str | None = None) -> StaffAccount | None:
        """The active account holding ``token`` (and named ``staff_id`` when given), if any;
        an expired token authenticates no one."""
        query = select(StaffRow).where(
            StaffRow.token_hash == hash_token(token),
            StaffRow.active,
            StaffRow.token_expires_at > self._now(),
        )
        if staff_id is not None:
            query = query.where(StaffRow.staff_id == staff_id)
        async with self._sessions() as session:
            row = await session.scalar(query)
        return StaffAccount(staff_id=row.staff_id, role=StaffRole(row.role)) if row else None

    async def open_session(self, staff: StaffAccount) -> str:
        """Start a dashboard session; returns its id (the cookie), of which only a hash is kept."""
        secret = secrets.token_urlsafe(32)
        now = self._now()
        async with self._sessions.begin() as session:
            session.add(
                StaffSessionRow(
                    id_hash=hash_token(secret),
                    staff_id=staff.staff_id,
                    created_at=now,
                    last_seen_at=now,
                )
            )
        return secret

    async def resume_session(self, secret: str) -> Session | None:
        """The live session with that id, its idle time starting again; None once it has
        been idle too long, reached its absolute expiry, or its account was disabled."""
        now = self._now()
        query = (
            select(StaffRow.staff_id, StaffRow.role)
            .join(StaffSessionRow, StaffSessionRow.staff_id == StaffRow.staff_id)
            .where(
                StaffSessionRow.id_hash == hash_token(secret),
                StaffRow.active,
                StaffSessionRow.last_seen_at > now - self.rules.idle,
                StaffSessionRow.created_at > now - self.rules.absolute,
            )
        )
        async with self._sessions.begin() as session:
            row = (await session.execute(query)).first()
            if row is None:
                return None
            await session.execute(
                update(StaffSessionRow)
                .where(StaffSessionRow.id_hash == hash_token(secret))
                .values(last_seen_at=now)
            )
        staff = StaffAccount(staff_id=row.staff_id, role=StaffRole(row.role))
        return Session(staff, csrf_token(secret))

    async def close_session(self, secret: str) -> None:
        """Revoke one session (logout)."""
        async with self._sessions.begin() as session:
            await session.execute(
                delete(StaffSessionRow).where(StaffSessionRow.id_hash == hash_token(secret))
            )

    async def login_wait(self, staff_id: str, address: str) -> int:
        """Seconds before the next login of ``staff_id`` from ``address`` is checked: 0 unless
        either has had its allowance of failures within the window."""
        now = self._now()
        since = now - self.rules.login_window
        oldest: list[datetime] = []
        async with self._sessions() as session:
            for column, value in (
                (LoginFailureRow.staff_id, staff_id),
                (LoginFailureRow.address, address),
            ):
                recent = (
                    select(LoginFailureRow.at)
                    .where(column == value, LoginFailureRow.at > since)
                    .order_by(LoginFailureRow.at.desc())
                    .limit(self.rules.login_failures)
                    .subquery()
                )
                count, first = (
                    await session.execute(select(func.count(), func.min(recent.c.at)))
                ).one()
                if count >= self.rules.login_failures:
                    oldest.append(first)
        if not oldest:
            return 0
        # Open again when the failure that completed the allowance leaves the window.
        reopens = max(oldest) + self.rules.login_window
        return max(1, math.ceil((reopens - now).total_seconds()))

    async def login_failed(self, staff_id: str, address: str) -> None:
        """Count a refused login (and forget those older than the window)."""
        now = self._now()
        async with self._sessions.begin() as session:
            await session.execute(
                delete(LoginFailureRow).where(LoginFailureRow.at <= now - self.rules.login_window)
            )
            session.add(LoginFailureRow(at=now, staff_id=staff_id[:64], address=address[:64]))

    async def login_succeeded(self, staff_id: str) -> None:
        """The account's own failures are forgotten (its address keeps its count)."""
        async with self._sessions.begin() as session:
            await session.execute(
                delete(LoginFailureRow).where(LoginFailureRow.staff_id == staff_id)
            )

    async def revoke(self, staff_id: str) -> int:
        """The account's token stops working and its sessions end; returns how many ended."""
        await self._set_token(staff_id, secrets.token_urlsafe(32), None)
        return await self._end_sessions(staff_id)

    async def rotate(self, staff_id: str) -> str:
        """A new token for the account (returned once), with a full lifetime; the old token
        and every session end."""
        token = secrets.token_urlsafe(32)
        await self._set_token(staff_id, token, self._now() + self.rules.token_lifetime)
        await self._end_sessions(staff_id)
        return token

    async def disable(self, staff_id: str) -> None:
        """The account can no longer authenticate in any way (token, session or login)."""
        await self._update_staff(staff_id, active=False)
        await self._end_sessions(staff_id)

    async def _set_token(self, staff_id: str, token: str, expires: datetime | None) -> None:
        await self._update_staff(staff_id, token_hash=hash_token(token), token_expires_at=expires)

    async def _update_staff(self, staff_id: str, **values: object) -> None:
        async with self._sessions.begin() as session:
            done = await session.execute(
                update(StaffRow).where(StaffRow.staff_id == staff_id).values(**values)
            )
            if not done.rowcount:  # type: ignore[attr-defined]
                raise UnknownStaffError(f"no staff account {staff_id}")

    async def _end_sessions(self, staff_id: str) -> int:
        async with self._sessions.begin() as session:
            done = await session.execute(
                delete(StaffSessionRow).where(StaffSessionRow.staff_id == staff_id)
            )
        return int(done.rowcount)  # type: ignore[attr-defined]

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
