"""Where CLI commands go: straight to Temporal and the read model, or to the HTTP API."""

from typing import Any, Protocol

from models.care import CareTeam
from models.clinical import Substance
from models.commands import CommandResult, WorkDisposition
from models.instruments import SexAtBirth
from models.journey import DischargeReason, Phase, Priority
from models.plan import Goal, RecoverySupport, Signer
from models.policy import ClinicalEventKind
from models.progress import ProgressView
from models.views import FeedItem, JourneyListItem, LiveJourney, Timeline
from service.days import Due


class Backend(Protocol):
    """The operations the CLI offers, whichever way they travel."""

    async def start(
        self, care_team: CareTeam, journey_id: str, by: str, sex_at_birth: SexAtBirth
    ) -> str:
        """Open a journey; returns its id."""
        ...

    async def assess(
        self,
        journey: str,
        dimensions: dict[str, int],
        by: str,
        reassessment: str | None,
        substances: list[Substance] | None = None,
    ) -> CommandResult:
        """Record an assessment."""
        ...

    async def decide(self, journey: str, by: str, decision: dict[str, Any]) -> CommandResult:
        """Decide: ``accept``, ``phase``, ``loc_code``, ``variance_reason``, ``reassessment_id``."""
        ...

    async def reassess(
        self, journey: str, by: str, reason: str, priority: Priority
    ) -> CommandResult:
        """Request a reassessment."""
        ...

    async def event(self, journey: str, kind: ClinicalEventKind, by: str) -> CommandResult:
        """Report a clinical event."""
        ...

    async def measure(self, journey: str, code: str, answers: list[int], by: str) -> CommandResult:
        """Score an instrument."""
        ...

    async def complete_task(self, journey: str, task_id: str, by: str) -> CommandResult:
        """Close a follow-up or outreach task."""
        ...

    async def check_in(
        self, journey: str, by: str, supports: list[RecoverySupport], substance_use: bool
    ) -> CommandResult:
        """Record an aftercare check-in."""
        ...

    async def team(self, journey: str, care_team: CareTeam, by: str, reason: str) -> CommandResult:
        """Replace the care team."""
        ...

    async def plan(
        self,
        journey: str,
        goals: list[Goal],
        by: str,
        reason: str,
        recovery_supports: list[RecoverySupport],
    ) -> CommandResult:
        """Write a plan version."""
        ...

    async def sign(self, journey: str, version: int, signer: Signer, by: str) -> CommandResult:
        """Sign the current plan version."""
        ...

    async def discharge(
        self,
        journey: str,
        reason: DischargeReason,
        by: str,
        dispositions: list[WorkDisposition] | None = None,
    ) -> CommandResult:
        """Discharge."""
        ...

    async def show(self, journey: str) -> tuple[LiveJourney, Timeline | None]:
        """Live state and timeline."""
        ...

    async def progress(self, journey: str) -> ProgressView:
        """Milestones, goals over time, trends and the plan review."""
        ...

    async def list_journeys(
        self,
        phase: Phase | None,
        loc_code: str | None,
        due: Due | None,
        member: str | None,
        limit: int,
        offset: int,
    ) -> list[JourneyListItem]:
        """Journeys, filtered."""
        ...

    async def feed(self, member: str, unread: bool, limit: int) -> list[FeedItem]:
        """A member's feed."""
        ...
