"""The journey's staff commands: check (pure, no change) then apply (mutates the state).

Every ``apply_*`` calls its ``check_*`` before touching anything, so a refused command
changes nothing; the workflow runs the checks in its update validators as well.
"""

from datetime import datetime, timedelta

from clinical import authority, journal, monitoring, plan_review
from clinical.errors import RuleViolation
from clinical.placement import check_dimensions, recommend
from clinical.schedule import next_review_due
from clinical.transitions import check_transition
from models.authority import ClinicalAction
from models.clinical import (
    Assessment,
    AssessmentKind,
    Decision,
    Reassessment,
    ReassessmentStatus,
    ReassessmentTrigger,
    Recommendation,
)
from models.commands import (
    CommandResult,
    DecideTransition,
    RecordAssessment,
    RequestReassessment,
    StartJourney,
)
from models.errors import RejectionCode
from models.journey import EventKind, Phase
from models.state import CURRENT_RULES, AftercareState, JourneyState


def start(cmd: StartJourney, now: datetime) -> JourneyState:
    """A new journey in intake, with its comprehensive assessment due."""
    state = JourneyState(
        journey_id=cmd.journey_id,
        policy=cmd.policy,
        started_at=now,
        care_team=cmd.care_team,
        rules=CURRENT_RULES,
        sex_at_birth=cmd.sex_at_birth,
    )
    journal.enter_segment(state, Phase.INTAKE, None, "journey started", cmd.started_by, now)
    journal.emit(state, EventKind.JOURNEY_STARTED, now, "Journey started in intake")
    journal.open_reassessment(
        state,
        ReassessmentTrigger.INTAKE,
        "comprehensive intake assessment",
        now,
        timedelta(hours=cmd.policy.intake_assessment_due_hours),
    )
    return state


def check_open(state: JourneyState) -> None:
    """Refuse any command once the journey has ended."""
    if not state.phase.is_open:
        raise RuleViolation(RejectionCode.JOURNEY_CLOSED, f"journey is {state.phase}")


def _find_active(state: JourneyState, reassessment_id: str | None) -> Reassessment:
    if reassessment_id is None:
        active = state.active_reassessment
        if active is None:
            raise RuleViolation(RejectionCode.NO_ACTIVE_REASSESSMENT, "no reassessment is open")
        return active
    found = next((r for r in state.reassessments if r.reassessment_id == reassessment_id), None)
    if found is None:
        raise RuleViolation(
            RejectionCode.UNKNOWN_REASSESSMENT, f"reassessment_id: {reassessment_id!r} not found"
        )
    if not found.status.is_active:
        raise RuleViolation(
            RejectionCode.REASSESSMENT_CLOSED, f"reassessment {reassessment_id} is {found.status}"
        )
    return found


def check_record_assessment(state: JourneyState, cmd: RecordAssessment) -> Reassessment:
    """Refuse an assessment the journey cannot take; return its reassessment."""
    check_open(state)
    authority.check_authority(state, cmd.assessed_by, ClinicalAction.ASSESS, "assessed_by")
    target = _find_active(state, cmd.reassessment_id)
    expected = _assessment_kind(target)
    if cmd.kind is not None and cmd.kind is not expected:
        raise RuleViolation(
            RejectionCode.WRONG_ASSESSMENT_KIND, f"kind: this reassessment needs {expected}"
        )
    check_dimensions(state.policy, cmd.dimensions)
    return target


def _assessment_kind(target: Reassessment) -> AssessmentKind:
    """Comprehensive for the intake assessment, a reassessment for every later one."""
    if target.trigger is ReassessmentTrigger.INTAKE:
        return AssessmentKind.COMPREHENSIVE
    return AssessmentKind.REASSESSMENT


def apply_record_assessment(
    state: JourneyState, cmd: RecordAssessment, now: datetime
) -> CommandResult:
    """Attach the assessment and the policy's recommendation to the reassessment."""
    target = check_record_assessment(state, cmd)
    # The sequence of the event this command emits: unique within the journey, and the id
    # callers derived before the journey did (so both paths name assessments alike).
    assessment_id = cmd.assessment_id or f"{state.journey_id}.A{state.seq + 1}"
    target.assessment = Assessment(
        assessment_id=assessment_id,
        kind=_assessment_kind(target),
        dimensions=dict(cmd.dimensions),
        assessed_by=cmd.assessed_by,
        assessed_at=now,
        substances=list(cmd.substances),
    )
    if cmd.substances:
        state.substances = list(dict.fromkeys(cmd.substances))
        monitoring.sync(state, now)
    target.recommendation = recommend(state.policy, cmd.dimensions, state.phase)
    target.status = ReassessmentStatus.ASSESSED
    event = journal.emit(
        state,
        EventKind.ASSESSMENT_RECORDED,
        now,
        f"Assessment recorded; recommended {_target_label(target.recommendation)}",
        refs={"reassessment_id": target.reassessment_id},
    )
    return CommandResult(
        seq=event.seq,
        message="assessment recorded",
        reassessment_id=target.reassessment_id,
        recommendation=target.recommendation,
    )


def _target_label(recommendation: Recommendation) -> str:
    return recommendation.loc_code or recommendation.phase.value


def check_request_reassessment(state: JourneyState, cmd: RequestReassessment) -> None:
    """Refuse a request while a reassessment is already open."""
    check_open(state)
    active = state.active_reassessment
    if active is not None:
        raise RuleViolation(
            RejectionCode.REASSESSMENT_ALREADY_OPEN,
            f"reassessment {active.reassessment_id} is already open",
        )


def apply_request_reassessment(
    state: JourneyState, cmd: RequestReassessment, now: datetime
) -> CommandResult:
    """Open a staff-requested reassessment."""
    check_request_reassessment(state, cmd)
    opened = journal.open_reassessment(
        state,
        ReassessmentTrigger.STAFF_REQUEST,
        cmd.reason,
        now,
        timedelta(hours=state.policy.request_due_hours),
        cmd.priority,
    )
    return CommandResult(
        seq=state.seq, message="reassessment opened", reassessment_id=opened.reassessment_id
    )


def check_decide(state: JourneyState, cmd: DecideTransition, now: datetime) -> Decision:
    """Refuse a decision the state machine does not allow; return the decision to record."""
    check_open(state)
    authority.check_decider(state, cmd.decided_by, None)
    target = _find_active(state, cmd.reassessment_id)
    recommendation = target.recommendation
    if target.status is not ReassessmentStatus.ASSESSED or recommendation is None:
        raise RuleViolation(
            RejectionCode.ASSESSMENT_MISSING, "record an assessment before deciding"
        )
    if cmd.accept:
        phase, loc_code = recommendation.phase, recommendation.loc_code
    elif cmd.phase is None:
        raise RuleViolation(RejectionCode.TARGET_REQUIRED, "phase: required for an override")
    else:
        phase, loc_code = cmd.phase, cmd.loc_code
    authority.check_decider(state, cmd.decided_by, phase)
    check_transition(state.policy, state.phase, phase, loc_code)
    follows = (phase, loc_code) == (recommendation.phase, recommendation.loc_code)
    if not follows and cmd.variance_reason is None:
        raise RuleViolation(
            RejectionCode.VARIANCE_REASON_REQUIRED,
            "variance_reason: required when the decision differs from the recommendation",
        )
    return Decision(
        decided_by=cmd.decided_by,
        decided_at=now,
        phase=phase,
        loc_code=loc_code,
        follows_recommendation=follows,
        variance_reason=None if follows else cmd.variance_reason,
    )


def apply_decide(state: JourneyState, cmd: DecideTransition, now: datetime) -> CommandResult:
    """Record the decision, close the reassessment and move the journey if it changes."""
    decision = check_decide(state, cmd, now)
    target = _find_active(state, cmd.reassessment_id)
    target.decision = decision
    journal.close_reassessment(state, target, ReassessmentStatus.COMPLETED, now)
    state.event_counts = {}
    moved = (decision.phase, decision.loc_code) != (state.phase, state.loc_code)
    event = journal.emit(
        state,
        EventKind.REASSESSMENT_COMPLETED,
        now,
        "Reassessment completed: " + ("change decided" if moved else "continued stay"),
        refs={"reassessment_id": target.reassessment_id},
    )
    if moved:
        _move(state, decision, now)
    state.next_review_due = next_review_due(state.policy, state.loc_code, now)
    return CommandResult(
        seq=state.seq if moved else event.seq,
        message="decision recorded",
        reassessment_id=target.reassessment_id,
        phase=state.phase,
        loc_code=state.loc_code,
    )


def _move(state: JourneyState, decision: Decision, now: datetime) -> None:
    previous_phase, previous_loc = state.phase, state.loc_code
    reason = decision.variance_reason or "reassessment decision"
    journal.enter_segment(
        state, decision.phase, decision.loc_code, reason, decision.decided_by, now
    )
    monitoring.level_changed(state, now)
    plan_review.on_level_entered(state, now)
    if decision.phase is Phase.AFTERCARE and previous_phase is not Phase.AFTERCARE:
        state.aftercare = AftercareState(started_at=now)
    elif decision.phase is not Phase.AFTERCARE:
        state.aftercare = None
    if decision.phase is not previous_phase:
        journal.emit(
            state,
            EventKind.PHASE_CHANGED,
            now,
            f"Phase changed from {previous_phase} to {decision.phase}",
            refs={"from": previous_phase.value, "to": decision.phase.value},
        )
    if decision.loc_code != previous_loc and decision.loc_code is not None:
        journal.emit(
            state,
            EventKind.LOC_CHANGED,
            now,
            f"Level of care changed from {previous_loc or 'none'} to {decision.loc_code}",
            refs={"from": previous_loc or "", "to": decision.loc_code},
        )
