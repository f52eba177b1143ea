"""Drive the pure engine in rule tests: moves, plan revisions and signatures, time passing."""

from datetime import date, datetime

from clinical import commands, episode
from clinical.timers import next_deadline, run_due_work
from models.clinical import AssessmentKind
from models.commands import (
    DecideTransition,
    RecordAssessment,
    RequestReassessment,
    RevisePlan,
    SignPlan,
)
from models.journey import EventKind, JourneyEvent, Phase
from models.plan import Goal, GoalStatus, Signer
from models.state import JourneyState
from tests.builders import PHYSICIAN, PRIMARY, ratings


def move(state: JourneyState, now: datetime, phase: Phase, loc_code: str | None) -> None:
    """Reassess (opening a request if nothing is open) and decide ``phase`` / ``loc_code``."""
    if state.active_reassessment is None:
        commands.apply_request_reassessment(
            state, RequestReassessment(requested_by=PRIMARY, reason="test"), now
        )
    kind = (
        AssessmentKind.COMPREHENSIVE if state.phase is Phase.INTAKE else AssessmentKind.REASSESSMENT
    )
    commands.apply_record_assessment(
        state,
        RecordAssessment(
            assessment_id=f"A{state.seq}", kind=kind, dimensions=ratings(), assessed_by=PRIMARY
        ),
        now,
    )
    active = state.active_reassessment
    assert active is not None
    commands.apply_decide(
        state,
        DecideTransition(
            reassessment_id=active.reassessment_id,
            decided_by=PHYSICIAN,
            accept=False,
            phase=phase,
            loc_code=loc_code,
            variance_reason="chosen by the test",
        ),
        now,
    )


def revise(
    state: JourneyState, now: datetime, statuses: dict[str, GoalStatus] | None = None
) -> int:
    """A new plan version with goals ``g1``.. in the given statuses; returns its version."""
    goals = [
        Goal(goal_id=goal_id, description=f"goal {goal_id}", target_date=date(2027, 1, 1),
             status=status)
        for goal_id, status in (statuses or {"g1": GoalStatus.ACTIVE}).items()
    ]  # fmt: skip
    result = episode.apply_revise_plan(
        state, RevisePlan(author=PRIMARY, reason="test", goals=goals), now
    )
    assert result.plan_version is not None
    return result.plan_version


def sign(state: JourneyState, now: datetime, *signers: Signer) -> None:
    """Sign the current version as each of ``signers``."""
    assert state.plan is not None
    for signer in signers:
        episode.apply_sign_plan(
            state, SignPlan(version=state.plan.version, signer=signer, signed_by=PRIMARY), now
        )


def run_until(state: JourneyState, until: datetime) -> None:
    """Fire every timer due up to ``until``, in order, as the workflow would."""
    for _ in range(10_000):
        deadline = next_deadline(state)
        if deadline is None or deadline > until:
            return
        assert run_due_work(state, deadline), f"a timer at {deadline} changed nothing"
    raise AssertionError("timers did not settle")


def events(state: JourneyState, kind: EventKind) -> list[JourneyEvent]:
    """Events of one kind still in the outbox (tests never flush)."""
    return [e for e in state.outbox if e.kind is kind]
