"""A journey driven through the pure engine, served as the read model would serve it."""

from datetime import date, datetime, timedelta

from clinical import commands, measures
from fhir_r4b.facts import (
    ConsentFacts,
    ExternalId,
    JourneyRecord,
    PatientFacts,
    PersonName,
    PostalAddress,
    RecordedInstrument,
)
from models.commands import RecordInstrument
from models.delivery import DeliveryStatus, DeliveryView, ExternalChannel
from models.instruments import SexAtBirth
from models.journey import EventKind, Phase, Priority
from models.plan import GoalStatus
from models.state import JourneyState
from models.views import (
    EventView,
    JourneyListItem,
    MemberView,
    PlanVersionView,
    SegmentView,
    TaskView,
    Timeline,
)
from tests.builders import PRIMARY, T0, start_command
from tests.clinical.engine import move, revise

MRN_SYSTEM = "urn:oid:2.16.840.1.113883.19.5"
PHQ9_ANSWERS = [1, 2, 0, 3, 1, 0, 2, 1, 1]
GAD7_ANSWERS = [2, 1, 1, 0, 3, 2, 1]
# Strings that must never appear in a Communication.
SECRET_NAME = "Rosalind"
SECRET_FAMILY = "Quillfeather"


def patient_facts(client_id: str = "C-7F3K2") -> PatientFacts:
    """A client's facts with every field filled."""
    return PatientFacts(
        client_id=client_id,
        names=(
            PersonName(SECRET_FAMILY, (SECRET_NAME, "May")),
            PersonName(SECRET_FAMILY, ("Roz",), use="usual"),
        ),
        birth_date=date(1988, 4, 17),
        sex_at_birth=SexAtBirth.FEMALE,
        identifiers=(ExternalId(MRN_SYSTEM, "MRN-004211"),),
        phone="+1-555-0100",
        email="roz@example.org",
        address=PostalAddress(("12 Elm St",), "Helena", "MT", "59601", "US"),
        language="es",
    )


def consent_facts(revoked: bool = False) -> ConsentFacts:
    """A Part 2 consent to disclose to an outside clinic."""
    return ConsentFacts(
        consent_id="CONS-1",
        recipient="Valley Primary Care",
        recipient_kind="organization",
        purposes=("treatment", "care coordination"),
        data_classes=("assessments", "plans"),
        effective=date(2026, 1, 5),
        expires=date(2027, 1, 5),
        signed_at=T0,
        revoked_at=T0 + timedelta(days=30) if revoked else None,
    )


def _record(
    state: JourneyState, now: datetime, code: str, answers: list[int]
) -> RecordedInstrument:
    result = measures.apply_record_instrument(
        state, RecordInstrument(code=code, answers=answers, recorded_by=PRIMARY), now
    )
    assert result.instrument is not None
    return RecordedInstrument(state.journey_id, result.seq, result.instrument, now, PRIMARY)


def journey_record(journey_id: str = "J-FHIR-1") -> JourneyRecord:
    """Intake, 3.7-WM, two plan versions, 3.5 with PHQ-9 and GAD-7 scores and an e-mail sent."""
    state = commands.start(start_command(journey_id), T0)
    move(state, T0 + timedelta(hours=1), Phase.WITHDRAWAL_MANAGEMENT, "3.7-WM")
    plans: list[PlanVersionView] = []
    for n, statuses in enumerate(
        [{"g1": GoalStatus.ACTIVE}, {"g1": GoalStatus.ACHIEVED, "g2": GoalStatus.ACTIVE}]
    ):
        revise(state, T0 + timedelta(hours=2, days=n), statuses)
        assert state.plan is not None
        plans.append(PlanVersionView.model_validate(state.plan.model_dump()))
    move(state, T0 + timedelta(days=3), Phase.TREATMENT, "3.5")
    instruments = (
        _record(state, T0 + timedelta(days=4), "PHQ-9", PHQ9_ANSWERS),
        _record(state, T0 + timedelta(days=4, hours=1), "GAD-7", GAD7_ANSWERS),
    )
    return JourneyRecord(
        timeline=timeline(state, plans),
        instruments=instruments,
        deliveries=(
            DeliveryView(
                key=f"{journey_id}:{instruments[0].seq}:hook-1:webhook",
                channel=ExternalChannel.WEBHOOK,
                target="hook-1",
                journey_id=journey_id,
                seq=instruments[0].seq,
                kind=EventKind.TRIGGER_FIRED,
                priority=Priority.URGENT,
                status=DeliveryStatus.SENT,
                attempts=1,
                last_error=None,
                replays=0,
                created_at=T0 + timedelta(days=4),
                sent_at=T0 + timedelta(days=4, seconds=3),
                dead_at=None,
            ),
        ),
    )


def timeline(state: JourneyState, plans: list[PlanVersionView]) -> Timeline:
    """The read model's view of ``state`` (its events are those still in the outbox)."""
    now = T0 + timedelta(days=5)
    return Timeline(
        summary=JourneyListItem(
            journey_id=state.journey_id,
            phase=state.phase,
            loc_code=state.loc_code,
            discharge_reason=state.discharge_reason,
            policy_version=state.policy.version,
            primary_clinician=state.care_team.primary.member_id,
            next_review_due=state.next_review_due,
            reassessment_due=None,
            urgent=state.urgent,
            started_at=state.started_at,
            updated_at=now,
            ended_at=state.ended_at,
            last_seq=state.seq,
        ),
        members=[MemberView.model_validate(m.model_dump()) for m in state.care_team.members],
        segments=[SegmentView.model_validate(s.model_dump()) for s in state.segments],
        events=[EventView.model_validate(e.model_dump()) for e in state.outbox],
        reassessments=[],
        tasks=[
            TaskView.model_validate({**t.model_dump(), "journey_id": state.journey_id})
            for t in state.tasks
        ],
        plan_versions=plans,
        notifications=[],
    )
