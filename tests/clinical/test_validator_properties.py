"""No accepted command can break a journey: whatever an update's validator accepts, its handler
applies without raising, and the state it leaves still validates and stays bounded.

Commands are drawn at their limits (500-character texts, 64-character ids, 50 goals with long
descriptions, every dimension key the model allows) over states reached by generated command
sequences with time passing. A handler that raised here would fail the workflow task and stall
the journey (reads and commands answering 500 until the code changed).
"""

import contextlib
import inspect
import json
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clinical import commands, episode, measures, migration
from clinical.errors import RuleViolation
from clinical.journal import prune
from models.care import CareTeam, CareTeamMember, Role
from models.clinical import Substance
from models.commands import (
    OPERATIONS,
    AddNote,
    ChangeCareTeam,
    CompleteTask,
    DecideTransition,
    Discharge,
    RecordAssessment,
    RecordCheckIn,
    RecordInstrument,
    ReportEvent,
    RequestReassessment,
    RevisePlan,
    SignPlan,
    StaffCommand,
    WorkDisposition,
)
from models.journey import DischargeReason, Phase, Priority
from models.plan import Goal, GoalStatus, RecoverySupport, Signer
from models.policy import ClinicalEventKind
from models.state import JourneyState
from tests.builders import PHYSICIAN, PRIMARY, SUPERVISOR
from tests.clinical.test_engine_properties import _advance, _run, op_st

LONG = "x" * 500
LONG_ID = "i" * 64
# A state this size is far below Temporal's 2 MB payload limit, whatever the commands were.
STATE_BOUND = 512 * 1024
RULES = (commands, episode, measures, migration)

text_st = st.one_of(st.just(LONG), st.text(min_size=1, max_size=500).filter(str.strip))
actor_st = st.sampled_from([PRIMARY, PHYSICIAN, SUPERVISOR, "cm-diaz", LONG_ID])
loc_st = st.sampled_from(["3.7-WM", "3.5", "2.1", "1", "0.5", "X" * 16, None])


def _ids(state: JourneyState) -> st.SearchStrategy[str]:
    known = [t.task_id for t in state.tasks] + [r.reassessment_id for r in state.reassessments]
    return st.sampled_from([*known, LONG_ID, f"{state.journey_id}.T999"])


def _team() -> st.SearchStrategy[CareTeam]:
    member = st.builds(
        CareTeamMember, member_id=actor_st, role=st.sampled_from(list(Role)), primary=st.just(False)
    )
    primary = st.builds(
        CareTeamMember, member_id=actor_st, role=st.just(Role.THERAPIST), primary=st.just(True)
    )
    sv = st.just(CareTeamMember(member_id=SUPERVISOR, role=Role.SUPERVISOR))
    members = st.tuples(primary, sv, st.lists(member, max_size=47))
    return (
        members.map(lambda m: [m[0], m[1], *m[2]])
        .filter(lambda ms: len({x.member_id for x in ms}) == len(ms))
        .map(lambda ms: CareTeam(members=ms))
    )


def _goals() -> st.SearchStrategy[list[Goal]]:
    goal = st.builds(
        Goal, goal_id=st.sampled_from([f"g{i}" for i in range(50)] + [LONG_ID]),
        description=text_st, target_date=st.dates(date(2026, 1, 1), date(2030, 1, 1)),
        status=st.sampled_from(list(GoalStatus)), measure=st.one_of(st.none(), text_st),
    )  # fmt: skip
    return st.lists(goal, min_size=1, max_size=50, unique_by=lambda g: g.goal_id)


def command_st(state: JourneyState) -> st.SearchStrategy[StaffCommand]:
    """Commands of every kind, at their limits, some aimed at what the state holds."""
    names = st.one_of(st.sampled_from(sorted(state.policy.dimensions)), st.text(max_size=64))
    dims = st.dictionaries(names.filter(bool), st.integers(0, 4), min_size=1, max_size=32)
    ids = _ids(state)
    return st.one_of(
        st.builds(RecordAssessment, dimensions=dims, assessed_by=actor_st,
                  substances=st.lists(st.sampled_from(list(Substance)), max_size=3, unique=True)),
        st.builds(RequestReassessment, requested_by=actor_st, reason=text_st,
                  priority=st.sampled_from(list(Priority))),
        st.builds(DecideTransition, decided_by=actor_st, accept=st.booleans(),
                  phase=st.one_of(st.none(), st.sampled_from(list(Phase))), loc_code=loc_st,
                  variance_reason=st.one_of(st.none(), text_st),
                  reassessment_id=st.one_of(st.none(), ids)),
        st.builds(ReportEvent, kind=st.sampled_from(list(ClinicalEventKind)), reported_by=actor_st),
        st.builds(RecordInstrument, code=st.sampled_from(["PHQ-9", "GAD-7", "AUDIT-C", "COWS",
                                                          "CIWA-Ar", "NOPE", LONG]),
                  answers=st.lists(st.integers(-1, 70), min_size=1, max_size=40),
                  recorded_by=actor_st),
        st.builds(CompleteTask, task_id=ids, completed_by=actor_st),
        st.builds(RecordCheckIn, recorded_by=actor_st, substance_use=st.booleans(),
                  supports_attended=st.lists(st.sampled_from(list(RecoverySupport)), max_size=20)),
        st.builds(ChangeCareTeam, changed_by=actor_st, care_team=_team(), reason=text_st),
        st.builds(RevisePlan, author=actor_st, reason=text_st, goals=_goals(),
                  aftercare_plan=st.one_of(st.none(), text_st)),
        st.builds(SignPlan, version=st.integers(1, 100_000), signer=st.sampled_from(list(Signer)),
                  signed_by=actor_st),
        st.builds(Discharge, discharged_by=actor_st, reason=st.sampled_from(list(DischargeReason)),
                  dispositions=st.lists(st.one_of(
                      st.builds(WorkDisposition, item_id=ids, hand_to=actor_st),
                      st.builds(WorkDisposition, item_id=ids, close_reason=text_st)),
                      max_size=50)),
        st.builds(AddNote, text=text_st, written_by=actor_st),
    )  # fmt: skip


def _rule(prefix: str, name: str) -> Callable[..., Any]:
    found = [getattr(m, f"{prefix}_{name}") for m in RULES if hasattr(m, f"{prefix}_{name}")]
    assert len(found) == 1, f"{prefix}_{name}"
    rule: Callable[..., Any] = found[0]
    return rule


def _call(rule: Callable[..., Any], state: JourneyState, cmd: StaffCommand, now: datetime) -> Any:
    takes_now = len(inspect.signature(rule).parameters) == 3
    return rule(state, cmd, now) if takes_now else rule(state, cmd)


def test_every_command_has_a_validator_and_a_handler() -> None:
    for op in OPERATIONS:
        _rule("check", op.name)
        _rule("apply", op.name)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(ops=st.lists(op_st, max_size=25), data=st.data())
def test_what_a_validator_accepts_its_handler_applies(ops: list[Any], data: st.DataObject) -> None:
    state, _ = _run(ops)
    now = max([state.started_at, *(e.occurred_at for e in state.outbox)]) + timedelta(minutes=5)
    for _ in range(4):
        cmd = data.draw(command_st(state))
        name = next(op.name for op in OPERATIONS if op.command is type(cmd))
        try:
            _call(_rule("check", name), state, cmd, now)
        except RuleViolation:
            continue
        # Accepted: the handler must apply it (it re-checks, so it may still not raise here).
        _call(_rule("apply", name), state, cmd, now)
        reloaded = JourneyState.model_validate_json(state.model_dump_json())
        assert reloaded.seq == state.seq
        state.outbox.clear()
        state.projected_seq = state.seq
        prune(state)
        assert len(state.model_dump_json()) < STATE_BOUND
        now += timedelta(minutes=5)


def _unbounded(node: Any, defs: dict[str, Any], where: str, seen: set[str]) -> list[str]:
    """Every string, list and map a command can carry that has no upper bound."""
    if not isinstance(node, dict):
        return []
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        return [] if name in seen else _unbounded(defs[name], defs, where, seen | {name})
    found: list[str] = []
    for key in ("anyOf", "oneOf", "allOf"):
        for option in node.get(key, []):
            found += _unbounded(option, defs, where, seen)
    kind = node.get("type")
    if kind == "string" and "enum" not in node and "format" not in node and "const" not in node:
        found += [] if "maxLength" in node else [where]
    if kind == "array":
        found += [] if "maxItems" in node else [where]
        found += _unbounded(node.get("items"), defs, f"{where}[]", seen)
    if kind == "object":
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            found += [] if "maxProperties" in node else [where]
            found += _unbounded(extra, defs, f"{where}{{}}", seen)
            keys = node.get("propertyNames", {})
            found += [] if "maxLength" in keys or "enum" in keys else [f"{where} keys"]
        for name, prop in node.get("properties", {}).items():
            found += _unbounded(prop, defs, f"{where}.{name}", seen)
    return found


def test_every_text_list_and_map_a_command_carries_is_bounded() -> None:
    """The model refuses what is too big before anything is written (422 at the API)."""
    for op in OPERATIONS:
        if op.name == "migrate_policy":
            continue  # the policy comes from the program's own reviewed file, not a caller
        schema = op.command.model_json_schema()
        found = _unbounded(schema, schema.get("$defs", {}), op.command.__name__, set())
        assert not found, found


# The largest command a caller can send (a plan at every limit) is far below the 2 MB payload
# limit too; a Temporal update carries one command.
COMMAND_BOUND = 1024 * 1024


def _largest_plan(i: int) -> RevisePlan:
    """A plan revision at every limit: 50 goals, 50 problems, 100 objectives and interventions."""
    plan = {
        "author": PRIMARY, "reason": f"{i}{LONG}"[:500],
        "goals": [{"goal_id": f"g{n}", "description": LONG, "target_date": "2027-01-01",
                   "measure": LONG} for n in range(50)],
        "problems": [{"problem_id": f"p{n}", "description": LONG, "dimension": "d" * 64}
                     for n in range(50)],
        "objectives": [{"objective_id": f"o{n}", "goal_id": f"g{n % 50}", "description": LONG,
                        "target_date": "2027-01-01"} for n in range(100)],
        "interventions": [{"intervention_id": f"v{n}", "objective_id": f"o{n}",
                           "modality": "cbt", "frequency": LONG,
                           "responsible_role": "therapist"} for n in range(100)],
    }  # fmt: skip
    return RevisePlan.model_validate_json(json.dumps(plan))


def test_thousands_of_commands_keep_the_state_and_each_command_bounded() -> None:
    """3,000 commands at their limits, days passing between them, as the workflow runs them."""
    state, _ = _run([])
    now = state.started_at + timedelta(minutes=5)
    biggest_state = biggest_command = 0
    for i in range(3000):
        cmd: StaffCommand = [
            RequestReassessment(requested_by=PRIMARY, reason=LONG),
            RecordAssessment(dimensions=dict.fromkeys(state.policy.dimensions, 2),
                             assessed_by=PRIMARY),
            DecideTransition(decided_by=PHYSICIAN, accept=True),
            RecordInstrument(code="PHQ-9", answers=[3] * 9, recorded_by=PRIMARY),
            ReportEvent(kind=ClinicalEventKind.CRISIS, reported_by=PRIMARY),
            AddNote(text=LONG, written_by=PRIMARY),
            _largest_plan(i) if i % 100 == 6 else AddNote(text=LONG, written_by=PHYSICIAN),
            CompleteTask(task_id=next((t.task_id for t in state.tasks
                                       if t.status.value == "open"), LONG_ID),
                         completed_by=PRIMARY),
        ][i % 8]  # fmt: skip
        biggest_command = max(biggest_command, len(cmd.model_dump_json()))
        name = next(op.name for op in OPERATIONS if op.command is type(cmd))
        with contextlib.suppress(RuleViolation):
            _call(_rule("apply", name), state, cmd, now)
        state.outbox.clear()
        state.projected_seq = state.seq
        prune(state)
        biggest_state = max(biggest_state, len(state.model_dump_json()))
        now = _advance(state, now, 6) if i % 8 == 7 else now + timedelta(minutes=5)
    assert state.seq > 2000  # most commands were taken, not refused
    assert biggest_state < STATE_BOUND, biggest_state
    assert biggest_command < COMMAND_BOUND, biggest_command
    assert biggest_command > 200_000  # the largest plan was among them
