"""``--api``: each command goes by its line of the command table, as the command model itself
without its actor (the API takes the actor from the token) and without the fields its path
names."""

import json
from datetime import date
from typing import cast

import httpx
import pytest

from cli.remote import RemoteBackend
from models.care import CareTeam, CareTeamMember, Role
from models.commands import (
    OPERATIONS,
    ChangeCareTeam,
    CommandResult,
    CompleteTask,
    DecideTransition,
    Discharge,
    MigratePolicy,
    OpenJourney,
    RecordAssessment,
    RecordCheckIn,
    RecordInstrument,
    ReportEvent,
    RequestReassessment,
    RevisePlan,
    SignPlan,
    StaffCommand,
    WorkDisposition,
    operation_of,
)
from models.journey import DischargeReason, Phase, Priority
from models.plan import Goal, RecoverySupport, Signer
from models.policy import ClinicalEventKind, Policy
from service.journeys import JourneyError

TEAM = CareTeam(
    members=[
        CareTeamMember(member_id="th-chen", role=Role.THERAPIST, primary=True),
        CareTeamMember(member_id="sv-gray", role=Role.SUPERVISOR),
    ]
)
# One command of each kind the API takes, with the actor the CLI fills in.
SENT: list[StaffCommand] = [
    RecordAssessment(dimensions={"d1": 3, "d2": 1}, assessed_by="th-chen"),
    RequestReassessment(requested_by="th-chen", reason="relapse", priority=Priority.URGENT),
    DecideTransition(
        decided_by="dr-ames",
        accept=False,
        phase=Phase.TREATMENT,
        loc_code="2.1",
        variance_reason="client preference",
        reassessment_id="J-1.r1",
    ),
    ReportEvent(kind=ClinicalEventKind.RELAPSE, reported_by="th-chen"),
    RecordInstrument(code="PHQ-9", answers=[0, 1, 2], recorded_by="th-chen"),
    CompleteTask(task_id="J-1.T3", completed_by="cm-diaz"),
    RecordCheckIn(
        recorded_by="rc-fox",
        supports_attended=[RecoverySupport.MUTUAL_HELP_MEETINGS],
        substance_use=True,
    ),
    RevisePlan(
        author="th-chen",
        reason="new goal",
        goals=[Goal(goal_id="g1", description="sleep", target_date=date(2027, 1, 1))],
    ),
    SignPlan(version=2, signer=Signer.CLIENT, signed_by="th-chen"),
    ChangeCareTeam(changed_by="sv-gray", care_team=TEAM, reason="handover"),
    Discharge(
        discharged_by="th-chen",
        reason=DischargeReason.AGAINST_ADVICE,
        dispositions=[
            WorkDisposition(item_id="J-1.T1", hand_to="cm-diaz"),
            WorkDisposition(item_id="J-1.r2", close_reason="seen elsewhere"),
        ],
    ),
]
RESULT = CommandResult(seq=9, message="done", phase=Phase.TREATMENT)


def _backend(seen: list[httpx.Request], answer: dict[str, object]) -> RemoteBackend:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json=answer)

    return RemoteBackend("http://api.test/", "tok", transport=httpx.MockTransport(handle))


def test_the_sample_has_one_command_of_each_kind_the_api_takes() -> None:
    kinds = [type(cmd) for cmd in SENT]
    assert len(set(kinds)) == len(kinds)
    assert set(kinds) <= {op.command for op in OPERATIONS if op.path is not None}


@pytest.mark.parametrize("cmd", SENT, ids=lambda cmd: type(cmd).__name__)
async def test_a_command_goes_by_its_route_as_its_model_without_the_actor(
    cmd: StaffCommand,
) -> None:
    seen: list[httpx.Request] = []
    api = _backend(seen, RESULT.model_dump(mode="json"))
    try:
        assert await api.send("J-1", cmd) == RESULT
    finally:
        await api.close()
    [request] = seen
    op = operation_of(type(cmd))
    assert op.path is not None
    in_path = op.path_fields
    route = op.path.format(**{f: getattr(cmd, f) for f in in_path})
    assert request.method == op.method
    assert request.url == f"http://api.test/journeys/J-1{route}"
    assert request.headers["Authorization"] == "Bearer tok"
    body = json.loads(request.content)
    assert cmd.ACTOR not in body
    assert not set(in_path) & body.keys()
    # What the API reads back: the body, the path's fields and the token's owner as actor.
    filled = {**body, **{f: getattr(cmd, f) for f in in_path}, cmd.ACTOR: getattr(cmd, cmd.ACTOR)}
    assert type(cmd).model_validate_json(json.dumps(filled)) == cmd


async def test_a_task_is_closed_by_its_id_in_the_path_with_an_empty_body() -> None:
    seen: list[httpx.Request] = []
    api = _backend(seen, RESULT.model_dump(mode="json"))
    try:
        await api.send("J-1", CompleteTask(task_id="J-1.T3", completed_by="api-token"))
    finally:
        await api.close()
    assert seen[0].url.path == "/journeys/J-1/tasks/J-1.T3/complete"
    assert json.loads(seen[0].content) == {}


async def test_a_command_the_api_does_not_offer_is_refused_before_any_request() -> None:
    seen: list[httpx.Request] = []
    api = _backend(seen, {})
    try:
        with pytest.raises(JourneyError, match="migrate_policy is not offered by the API"):
            await api.send(
                "J-1",
                MigratePolicy.model_construct(
                    policy=cast(Policy, None), migrated_by="ops-1", reason="v2"
                ),
            )
    finally:
        await api.close()
    assert seen == []


async def test_start_posts_the_open_journey_model() -> None:
    seen: list[httpx.Request] = []
    api = _backend(seen, {"journey_id": "J-7KQ2M9XPT4"})
    opened = OpenJourney(care_team=TEAM)
    try:
        # The API generates the id; the CLI prints what it answered.
        assert await api.start(opened, "api-token") == "J-7KQ2M9XPT4"
    finally:
        await api.close()
    assert (seen[0].method, seen[0].url.path) == ("POST", "/journeys")
    assert OpenJourney.model_validate_json(seen[0].content) == opened


async def test_a_change_whose_answer_was_lost_is_sent_again_with_the_same_key() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) == 1:
            raise httpx.ReadError("connection reset before the answer", request=request)
        return httpx.Response(200, json={"seq": 4, "message": "clinical event reported"})

    api = RemoteBackend("http://api", "token", transport=httpx.MockTransport(answer))
    event = ReportEvent(kind=ClinicalEventKind.CRISIS, reported_by="th-chen")
    result = await api.send("J-1", event)
    await api.send("J-1", event)
    await api.close()
    assert result.seq == 4
    keys = [r.headers["Idempotency-Key"] for r in seen]
    assert len(keys) == 3
    assert keys[0] == keys[1]  # the repeat of the same change
    assert keys[2] != keys[0]  # the next change is another one


async def test_a_change_that_never_reaches_the_api_fails_after_one_repeat() -> None:
    seen: list[httpx.Request] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        raise httpx.ConnectError("connection refused", request=request)

    api = RemoteBackend("http://api", "token", transport=httpx.MockTransport(refuse))
    with pytest.raises(JourneyError, match="cannot reach the API"):
        await api.send("J-1", ReportEvent(kind=ClinicalEventKind.CRISIS, reported_by="th-chen"))
    await api.close()
    assert len(seen) == 2
