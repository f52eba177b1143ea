"""Sessions end after their idle time and at their absolute expiry, API tokens after their
lifetime; revoke, rotate and disable end every way in, on a clock the tests move."""

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.deps import SESSION_COOKIE
from api.services import ApiServices
from models.staff import StaffRole
from readmodel.access import AccessRepository, SessionRules
from tests.api.forms import browser, login
from tests.stack import api_services

RULES = SessionRules(
    idle=timedelta(minutes=30),
    absolute=timedelta(hours=8),
    token_lifetime=timedelta(days=30),
    login_failures=5,
    login_window=timedelta(minutes=15),
)


@dataclass
class Clock:
    """A clock the test moves."""

    at: datetime

    def __call__(self) -> datetime:
        return self.at


@dataclass
class Timed:
    """The app over an access repository on a clock the test moves."""

    app: FastAPI
    services: ApiServices
    clock: Clock


@pytest.fixture(scope="module")
async def timed(
    dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Timed]:
    async with api_services(dev_env, tmp_path_factory.mktemp("sessions")) as built:
        clock = Clock(datetime(2026, 3, 1, 9, tzinfo=UTC))
        access = AccessRepository(built.deliveries.sessions, RULES, clock=clock)
        services = replace(built, access=access)
        yield Timed(create_app(services), services, clock)


async def test_a_session_ends_after_its_idle_time(timed: Timed) -> None:
    token = await timed.services.access.add_staff("idle-1", StaffRole.CLINICIAN)
    async with browser(timed.app, "10.0.5.1") as http:
        assert (await login(http, "idle-1", token)).status_code == 303
        timed.clock.at += RULES.idle - timedelta(minutes=1)
        assert (await http.get("/")).status_code == 200  # in use: the idle time starts again
        timed.clock.at += RULES.idle - timedelta(minutes=1)
        assert (await http.get("/")).status_code == 200
        timed.clock.at += RULES.idle + timedelta(seconds=1)
        assert (await http.get("/")).headers["location"] == "/login"


async def test_a_session_ends_at_its_absolute_expiry_however_busy(timed: Timed) -> None:
    token = await timed.services.access.add_staff("busy-1", StaffRole.CLINICIAN)
    async with browser(timed.app, "10.0.5.2") as http:
        assert (await login(http, "busy-1", token)).status_code == 303
        started = timed.clock.at
        while timed.clock.at - started < RULES.absolute - timedelta(minutes=20):
            timed.clock.at += timedelta(minutes=20)
            assert (await http.get("/")).status_code == 200
        timed.clock.at = started + RULES.absolute + timedelta(seconds=1)
        assert (await http.get("/")).headers["location"] == "/login"


async def test_an_api_token_expires_after_its_lifetime(timed: Timed) -> None:
    token = await timed.services.access.add_staff("tok-1", StaffRole.CLINICIAN)
    headers = {"Authorization": f"Bearer {token}"}
    async with browser(timed.app, "10.0.5.3") as http:
        timed.clock.at += RULES.token_lifetime - timedelta(minutes=1)
        assert (await http.get("/me", headers=headers)).status_code == 200
        timed.clock.at += timedelta(minutes=2)
        assert (await http.get("/me", headers=headers)).status_code == 401
        # An expired token does not log in to the dashboard either.
        assert (await login(http, "tok-1", token)).status_code == 401


async def _signed_in(timed: Timed, staff_id: str, address: str) -> tuple[str, str]:
    """A fresh account's token and a dashboard session cookie for it."""
    token = await timed.services.access.add_staff(staff_id, StaffRole.SUPERVISOR)
    async with browser(timed.app, address) as http:
        assert (await login(http, staff_id, token)).status_code == 303
        return token, http.cookies[SESSION_COOKIE]


async def _works(timed: Timed, token: str | None, cookie: str | None) -> bool:
    async with browser(timed.app, "10.0.6.9") as http:
        if cookie is not None:
            http.cookies.set(SESSION_COOKIE, cookie)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return (await http.get("/me", headers=headers)).status_code == 200


async def test_revoke_ends_the_token_and_every_session(timed: Timed) -> None:
    token, cookie = await _signed_in(timed, "rev-1", "10.0.6.1")
    assert await _works(timed, token, None)
    assert await _works(timed, None, cookie)
    assert await timed.services.access.revoke("rev-1") == 1
    assert not await _works(timed, token, None)
    assert not await _works(timed, None, cookie)


async def test_rotate_gives_a_new_token_and_the_old_one_dies(timed: Timed) -> None:
    token, cookie = await _signed_in(timed, "rot-1", "10.0.6.2")
    new = await timed.services.access.rotate("rot-1")
    assert new != token
    assert not await _works(timed, token, None)
    assert not await _works(timed, None, cookie)
    assert await _works(timed, new, None)
    # The new token has a full lifetime from the rotation.
    timed.clock.at += RULES.token_lifetime - timedelta(minutes=1)
    assert await _works(timed, new, None)
    timed.clock.at -= RULES.token_lifetime - timedelta(minutes=1)


async def test_a_disabled_account_cannot_authenticate_at_all(timed: Timed) -> None:
    token, cookie = await _signed_in(timed, "dis-1", "10.0.6.3")
    await timed.services.access.disable("dis-1")
    assert not await _works(timed, token, None)
    assert not await _works(timed, None, cookie)
    async with browser(timed.app, "10.0.6.4") as http:
        assert (await login(http, "dis-1", token)).status_code == 401
    # Rotating a disabled account's token does not enable it.
    new = await timed.services.access.rotate("dis-1")
    assert not await _works(timed, new, None)
