"""A small driver that takes a journey through staff commands in tests."""

from dataclasses import dataclass
from datetime import timedelta

from temporalio.testing import WorkflowEnvironment

from models.clinical import AssessmentKind, ReassessmentTrigger, Substance
from models.commands import (
    CommandResult,
    DecideTransition,
    RecordAssessment,
    RecordCheckIn,
    RequestReassessment,
)
from models.journey import Phase
from models.state import JourneyState
from service.journeys import JourneyService
from tests.builders import PHYSICIAN, PRIMARY, start_command


@dataclass
class JourneyDriver:
    """Drives one journey; ``clinician`` acts for every command, ``decider`` decides."""

    env: WorkflowEnvironment
    service: JourneyService
    journey_id: str
    clinician: str = PRIMARY
    # A physician may take every decision, withdrawal management included.
    decider: str = PHYSICIAN

    @classmethod
    async def start(
        cls, env: WorkflowEnvironment, task_queue: str, journey_id: str
    ) -> "JourneyDriver":
        """Start a journey with the default team and policy."""
        service = JourneyService(env.client, task_queue)
        await service.start(start_command(journey_id))
        return cls(env, service, journey_id)

    async def state(self) -> JourneyState:
        """The live state."""
        return await self.service.state(self.journey_id)

    async def assess(self, **ratings: int) -> CommandResult:
        """Assess the open reassessment with the given ratings (others 0)."""
        state = await self.state()
        active = state.active_reassessment
        assert active is not None, "no open reassessment to assess"
        intake = active.trigger is ReassessmentTrigger.INTAKE
        dims = {d: ratings.get(d, 0) for d in state.policy.dimensions}
        return await self.service.send(
            self.journey_id,
            RecordAssessment(
                assessment_id=f"A{state.seq}",
                kind=AssessmentKind.COMPREHENSIVE if intake else AssessmentKind.REASSESSMENT,
                dimensions=dims,
                assessed_by=self.clinician,
            ),
        )

    async def accept(self) -> CommandResult:
        """Accept the recommendation on the open reassessment."""
        active = (await self.state()).active_reassessment
        assert active is not None
        return await self.service.send(
            self.journey_id,
            DecideTransition(
                reassessment_id=active.reassessment_id, decided_by=self.decider, accept=True
            ),
        )

    async def place(
        self, phase: Phase, loc_code: str | None, substances: list[Substance] | None = None
    ) -> CommandResult:
        """Assess the open (or a newly requested) reassessment and decide ``phase``/``loc_code``.

        An override with a variance reason, so the test does not depend on the placement rules.
        """
        state = await self.state()
        if state.active_reassessment is None:
            await self.service.send(
                self.journey_id, RequestReassessment(requested_by=self.decider, reason="review")
            )
        await self.service.send(
            self.journey_id,
            RecordAssessment(
                dimensions=dict.fromkeys(state.policy.dimensions, 0) | {"d1": 3},
                assessed_by=self.decider,
                substances=substances or [],
            ),
        )
        active = (await self.state()).active_reassessment
        assert active is not None
        return await self.service.send(
            self.journey_id,
            DecideTransition(
                reassessment_id=active.reassessment_id, decided_by=self.decider, accept=False,
                phase=phase, loc_code=loc_code, variance_reason="clinical judgement",
            ),
        )  # fmt: skip

    async def assess_and_accept(self, **ratings: int) -> CommandResult:
        """Assess, then accept the recommendation."""
        await self.assess(**ratings)
        return await self.accept()

    async def check_in(self) -> CommandResult:
        """Record an aftercare check-in."""
        return await self.service.send(self.journey_id, RecordCheckIn(recorded_by=self.clinician))

    async def sleep(self, **delta: float) -> None:
        """Skip time on the test server."""
        await self.env.sleep(timedelta(**delta))
