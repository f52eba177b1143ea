"""Realistic projection batches, made by driving the pure journey engine like the workflow does."""

from datetime import datetime, timedelta

from clinical import commands, episode
from clinical.timers import next_deadline, run_due_work
from models.clinical import AssessmentKind
from models.commands import DecideTransition, RecordAssessment, ReportEvent
from models.policy import ClinicalEventKind
from models.state import JourneyState, ProjectionBatch
from tests.builders import PRIMARY, T0, ratings, start_command
from workflows.projection import build_batch


def _flush(state: JourneyState) -> ProjectionBatch:
    batch = build_batch(state)
    state.outbox = []
    state.projected_seq = state.seq
    return batch


def _assess_and_accept(state: JourneyState, now: datetime, kind: AssessmentKind, **r: int) -> None:
    cmd = RecordAssessment(
        assessment_id=f"A{state.seq}", kind=kind, dimensions=ratings(**r), assessed_by=PRIMARY
    )
    result = commands.apply_record_assessment(state, cmd, now)
    assert result.reassessment_id is not None
    decide = DecideTransition(
        reassessment_id=result.reassessment_id, decided_by=PRIMARY, accept=True
    )
    commands.apply_decide(state, decide, now)


def journey_batches(journey_id: str = "J-RM-1", start: datetime = T0) -> list[ProjectionBatch]:
    """Intake -> 3.7-WM -> scheduled review -> 3.5, a relapse and an overdue escalation."""
    state = commands.start(start_command(journey_id), start)
    batches = [_flush(state)]
    now = start + timedelta(hours=2)
    _assess_and_accept(state, now, AssessmentKind.COMPREHENSIVE, d1=3, d2=2)
    batches.append(_flush(state))
    deadline = next_deadline(state)
    assert deadline is not None
    run_due_work(state, deadline)
    batches.append(_flush(state))
    _assess_and_accept(state, deadline, AssessmentKind.REASSESSMENT, d5=3, d6=3)
    batches.append(_flush(state))
    relapse = ReportEvent(kind=ClinicalEventKind.RELAPSE, reported_by="cm-diaz")
    episode.apply_report_event(state, relapse, deadline + timedelta(days=1))
    batches.append(_flush(state))
    overdue = next_deadline(state)
    assert overdue is not None
    run_due_work(state, overdue)
    batches.append(_flush(state))
    return batches
