"""Decision authority over HTTP: clinical commands need a clinical account and a care-team role
the policy allows; every refusal is a 403 with a code, audited, and changes nothing."""

from typing import Any

import pytest

from models.staff import StaffRole
from models.work import TaskKind
from tests.api.conftest import TEAM, ApiStack, open_as

RATINGS = {"d1": 3, "d2": 2, "d3": 1, "d4": 1, "d5": 3, "d6": 3}  # recommends 3.7-WM
GOAL = {"goal_id": "g1", "description": "withdraw safely", "target_date": "2027-01-10"}
JOURNEY = "J-AUTH-API"


@pytest.fixture(scope="module")
async def journey(api: ApiStack) -> str:
    """Assessed, with a plan and an open safety follow-up: every clinical command applies."""
    # A case manager and a supervisor who are on no team, both with clinical accounts.
    for staff_id, role in (("cm-diaz", StaffRole.CLINICIAN), ("sv-other", StaffRole.SUPERVISOR)):
        api.tokens[staff_id] = await api.services.access.add_staff(staff_id, role)
    async with api.client("th-chen") as http:
        await open_as(api, JOURNEY)
        phq9 = {"code": "PHQ-9", "answers": [0, 0, 0, 0, 0, 0, 0, 0, 1]}
        assert (await http.post(f"/journeys/{JOURNEY}/instruments", json=phq9)).status_code == 200
        plan = {"reason": "initial plan", "goals": [GOAL]}
        assert (await http.put(f"/journeys/{JOURNEY}/plan", json=plan)).status_code == 200
        assessed = await http.post(f"/journeys/{JOURNEY}/assessments", json={"dimensions": RATINGS})
        assert assessed.json()["recommendation"]["loc_code"] == "3.7-WM"
    return JOURNEY


async def _safety_task(api: ApiStack) -> str:
    tasks = (await api.services.journeys.state(JOURNEY)).tasks
    return next(t.task_id for t in tasks if t.kind is TaskKind.SAFETY_FOLLOW_UP)


# (method, path under the journey, body): every clinical command.
CLINICAL: dict[str, tuple[str, str, Any]] = {
    "assessment": ("POST", "/assessments", {"dimensions": RATINGS}),
    "decision": ("POST", "/decisions", {"accept": True}),
    "plan revision": ("PUT", "/plan", {"reason": "update", "goals": [GOAL]}),
    "clinician signature": ("POST", "/plan/signatures", {"version": 1, "signer": "clinician"}),
    "client signature": ("POST", "/plan/signatures", {"version": 1, "signer": "client"}),
    "discharge": ("POST", "/discharge", {"reason": "transferred"}),
    "instrument": ("POST", "/instruments", {"code": "PHQ-9", "answers": [0] * 9}),
    "safety follow-up done": ("POST", "/tasks/{task}/complete", None),
}


async def _send(api: ApiStack, staff: str, command: str) -> Any:
    method, path, body = CLINICAL[command]
    path = path.replace("{task}", await _safety_task(api))
    async with api.client(staff) as http:
        return await http.request(method, f"/journeys/{JOURNEY}{path}", json=body)


async def _unchanged_after(api: ApiStack, staff: str, command: str, code: str) -> None:
    """Send; expect a 403 with ``code``, no change, and the refusal in the audit log."""
    before = (await api.services.journeys.state(JOURNEY)).model_dump()
    answer = await _send(api, staff, command)
    assert answer.status_code == 403, answer.text
    assert answer.json()["code"] == code
    assert (await api.services.journeys.state(JOURNEY)).model_dump() == before
    entries = await api.services.access.audit_log(limit=5, journey_id=JOURNEY)
    assert (entries[0].actor, entries[0].outcome) == (staff, code)


@pytest.mark.parametrize("staff", ["ops-1", "admin-1"])
@pytest.mark.parametrize("command", list(CLINICAL))
async def test_operations_and_admin_accounts_may_not_send_clinical_commands(
    api: ApiStack, journey: str, staff: str, command: str
) -> None:
    await _unchanged_after(api, staff, command, "clinical_role_required")


async def test_operations_keep_reading_team_changes_and_operational_commands(
    api: ApiStack, journey: str
) -> None:
    async with api.client("ops-1") as http:
        assert (await http.get(f"/journeys/{JOURNEY}")).status_code == 200
        event = await http.post(f"/journeys/{JOURNEY}/events", json={"kind": "missed_session"})
        assert event.status_code == 200, event.text
        team = await http.put(f"/journeys/{JOURNEY}/care-team",
                              json={"care_team": TEAM, "reason": "rota confirmed"})  # fmt: skip
        assert team.status_code == 200, team.text
        # Refused by the journey for what it is (no aftercare yet), not for who asks.
        check_in = await http.post(f"/journeys/{JOURNEY}/check-ins")
        assert (check_in.status_code, check_in.json()["code"]) == (409, "not_in_aftercare")


@pytest.mark.parametrize("command", ["assessment", "decision", "discharge", "instrument"])
async def test_a_clinician_off_the_care_team_is_refused(
    api: ApiStack, journey: str, command: str
) -> None:
    before = (await api.services.journeys.state(JOURNEY)).model_dump()
    answer = await _send(api, "th-other", command)
    # Answered as a journey that does not exist: the answer confirms no id (audited as it is).
    assert (answer.status_code, answer.json()) == (404, {"detail": "journey not found"})
    assert (await api.services.journeys.state(JOURNEY)).model_dump() == before
    entries = await api.services.access.audit_log(limit=1, journey_id=JOURNEY)
    assert (entries[0].actor, entries[0].outcome) == ("th-other", "forbidden")


@pytest.mark.parametrize(
    ("staff", "command"),
    [
        ("cm-diaz", "decision"),  # a case manager on the team: not a role that decides
        ("cm-diaz", "assessment"),
        ("cm-diaz", "clinician signature"),
        ("th-chen", "decision"),  # a therapist: 3.7-WM is withdrawal management
        ("sv-other", "decision"),  # a supervisor account sees every journey, but is not on it
    ],
)
async def test_the_journey_refuses_a_care_team_role_its_policy_does_not_allow(
    api: ApiStack, journey: str, staff: str, command: str
) -> None:
    await _unchanged_after(api, staff, command, "not_authorized")


async def test_a_physician_on_the_team_decides_withdrawal_management(
    api: ApiStack, journey: str
) -> None:
    async with api.client("dr-ames") as http:
        decided = await http.post(f"/journeys/{JOURNEY}/decisions", json={"accept": True})
    assert decided.status_code == 200, decided.text
    assert (decided.json()["phase"], decided.json()["loc_code"]) == (
        "withdrawal_management",
        "3.7-WM",
    )
    entries = await api.services.access.audit_log(limit=1, journey_id=JOURNEY)
    assert (entries[0].actor, entries[0].outcome) == ("dr-ames", "ok")
