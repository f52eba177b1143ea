"""The CLI straight to Temporal and the read model (staff with cluster access)."""

from typing import Any

from clinical.policy_loader import load_policy
from models.care import CareTeam
from models.clinical import Substance
from models.commands import (
    ChangeCareTeam,
    CommandResult,
    CompleteTask,
    DecideTransition,
    Discharge,
    RecordCheckIn,
    RecordInstrument,
    ReportEvent,
    RequestReassessment,
    RevisePlan,
    SignPlan,
    StartJourney,
    WorkDisposition,
)
from models.instruments import SexAtBirth
from models.journey import DischargeReason, Phase, Priority
from models.plan import Goal, RecoverySupport, Signer
from models.policy import ClinicalEventKind
from models.progress import ProgressView
from models.views import FeedItem, JourneyListItem, LiveJourney, Timeline
from readmodel.queries import JourneyQueries
from runtime.settings import Settings
from service.days import Due, ProgramCalendar
from service.journeys import JourneyService
from service.live import live_view


class DirectBackend:
    """Commands over a Temporal client, reads from the read model."""

    def __init__(
        self,
        settings: Settings,
        journeys: JourneyService,
        queries: JourneyQueries,
        calendar: ProgramCalendar | None = None,
    ):
        self._settings = settings
        self._journeys = journeys
        self._queries = queries
        self._calendar = calendar or ProgramCalendar(settings.program_timezone)

    async def start(
        self, care_team: CareTeam, journey_id: str, by: str, sex_at_birth: SexAtBirth
    ) -> str:
        """Open a journey with the configured policy."""
        policy = load_policy(self._settings.policy_path)
        await self._journeys.start(
            StartJourney(
                journey_id=journey_id,
                care_team=care_team,
                started_by=by,
                policy=policy,
                sex_at_birth=sex_at_birth,
            )
        )
        return journey_id

    async def assess(
        self,
        journey: str,
        dimensions: dict[str, int],
        by: str,
        reassessment: str | None,
        substances: list[Substance] | None = None,
    ) -> CommandResult:
        """Comprehensive at intake, a reassessment otherwise."""
        return await self._journeys.assess(
            journey, dimensions, by, reassessment, substances=substances
        )

    async def decide(self, journey: str, by: str, decision: dict[str, Any]) -> CommandResult:
        """Decide the named or the open reassessment."""
        cmd = DecideTransition(decided_by=by, **decision)
        return await self._journeys.decide(journey, cmd)

    async def reassess(
        self, journey: str, by: str, reason: str, priority: Priority
    ) -> CommandResult:
        """Request a reassessment."""
        cmd = RequestReassessment(requested_by=by, reason=reason, priority=priority)
        return await self._journeys.request_reassessment(journey, cmd)

    async def event(self, journey: str, kind: ClinicalEventKind, by: str) -> CommandResult:
        """Report a clinical event."""
        return await self._journeys.report_event(journey, ReportEvent(kind=kind, reported_by=by))

    async def measure(self, journey: str, code: str, answers: list[int], by: str) -> CommandResult:
        """Score an instrument in the journey."""
        cmd = RecordInstrument(code=code, answers=answers, recorded_by=by)
        return await self._journeys.record_instrument(journey, cmd)

    async def complete_task(self, journey: str, task_id: str, by: str) -> CommandResult:
        """Close a task."""
        cmd = CompleteTask(task_id=task_id, completed_by=by)
        return await self._journeys.complete_task(journey, cmd)

    async def check_in(
        self, journey: str, by: str, supports: list[RecoverySupport], substance_use: bool
    ) -> CommandResult:
        """Record an aftercare check-in."""
        cmd = RecordCheckIn(recorded_by=by, supports_attended=supports, substance_use=substance_use)
        return await self._journeys.record_check_in(journey, cmd)

    async def team(self, journey: str, care_team: CareTeam, by: str, reason: str) -> CommandResult:
        """Replace the care team."""
        cmd = ChangeCareTeam(changed_by=by, care_team=care_team, reason=reason)
        return await self._journeys.change_care_team(journey, cmd)

    async def plan(
        self,
        journey: str,
        goals: list[Goal],
        by: str,
        reason: str,
        recovery_supports: list[RecoverySupport],
    ) -> CommandResult:
        """Write a plan version."""
        cmd = RevisePlan(author=by, reason=reason, goals=goals, recovery_supports=recovery_supports)
        return await self._journeys.revise_plan(journey, cmd)

    async def sign(self, journey: str, version: int, signer: Signer, by: str) -> CommandResult:
        """Sign the current plan version."""
        cmd = SignPlan(version=version, signer=signer, signed_by=by)
        return await self._journeys.sign_plan(journey, cmd)

    async def discharge(
        self,
        journey: str,
        reason: DischargeReason,
        by: str,
        dispositions: list[WorkDisposition] | None = None,
    ) -> CommandResult:
        """Discharge."""
        cmd = Discharge(discharged_by=by, reason=reason, dispositions=dispositions or [])
        return await self._journeys.discharge(journey, cmd)

    async def show(self, journey: str) -> tuple[LiveJourney, Timeline | None]:
        """Live state from the workflow, timeline from the read model."""
        state = await self._journeys.state(journey)
        return live_view(state), await self._queries.get_timeline(journey)

    async def progress(self, journey: str) -> ProgressView:
        """From the workflow's progress query."""
        return await self._journeys.progress(journey)

    async def list_journeys(
        self,
        phase: Phase | None,
        loc_code: str | None,
        due: Due | None,
        member: str | None,
        limit: int,
        offset: int,
    ) -> list[JourneyListItem]:
        """From the read model, ``due`` in the program's days as the API counts them."""
        return await self._queries.list_journeys(
            phase=phase,
            loc_code=loc_code,
            due_between=self._calendar.due_range(due) if due else None,
            member=member,
            limit=limit,
            offset=offset,
        )

    async def feed(self, member: str, unread: bool, limit: int) -> list[FeedItem]:
        """From the read model."""
        return await self._queries.feed(member, unread_only=unread, limit=limit)
