"""Send commands to journeys and read their live state, with errors callers can branch on."""

from datetime import UTC, datetime
from typing import TypeVar

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import WorkflowExecutionStatus
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.workflow import UpdateMethodMultiParam

from models.clinical import Substance
from models.commands import (
    ChangeCareTeam,
    CommandResult,
    CompleteTask,
    DecideTransition,
    Discharge,
    MigratePolicy,
    MigrationPlan,
    RecordAssessment,
    RecordCheckIn,
    RecordInstrument,
    ReportEvent,
    RequestReassessment,
    RevisePlan,
    SignPlan,
    StartJourney,
)
from models.errors import COMMAND_REJECTED, RejectionCode
from models.policy import Policy
from models.progress import ProgressView
from models.state import JourneyInput, JourneyState
from workflows.journey import ClientJourneyWorkflow
from workflows.temporal_policy import journey_workflow_id

Handle = WorkflowHandle[ClientJourneyWorkflow, JourneyState]
C = TypeVar("C")


class JourneyError(Exception):
    """Base of the errors a caller can branch on."""


class JourneyNotFoundError(JourneyError):
    """No journey has that id."""


class JourneyExistsError(JourneyError):
    """A journey with that id was already started."""


class CommandRejectedError(JourneyError):
    """The journey refused the command; nothing changed."""

    def __init__(self, code: RejectionCode, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class JourneyService:
    """Journey commands over one Temporal client."""

    def __init__(self, client: Client, task_queue: str) -> None:
        self._client = client
        self._task_queue = task_queue

    async def start(self, cmd: StartJourney) -> None:
        """Start the journey's workflow; ids are never reused."""
        try:
            await self._client.start_workflow(
                ClientJourneyWorkflow.run,
                JourneyInput(start=cmd),
                id=journey_workflow_id(cmd.journey_id),
                task_queue=self._task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            )
        except WorkflowAlreadyStartedError:
            raise JourneyExistsError(f"journey {cmd.journey_id} already exists") from None

    async def state(self, journey_id: str) -> JourneyState:
        """The live state from the workflow query."""
        handle = self._handle(journey_id)
        try:
            return await handle.query(ClientJourneyWorkflow.state)
        except RPCError as exc:
            raise _translate_rpc(journey_id, exc) from None

    async def progress(self, journey_id: str, at: datetime | None = None) -> ProgressView:
        """Milestones, goal status over time, instrument trends and the plan review.

        Args:
            journey_id: the journey.
            at: the time the view is for (days in recovery); now when not given.
        """
        when = at or datetime.now(UTC)
        try:
            return await self._handle(journey_id).query(ClientJourneyWorkflow.progress, when)
        except RPCError as exc:
            raise _translate_rpc(journey_id, exc) from None

    async def assess(
        self,
        journey_id: str,
        dimensions: dict[str, int],
        assessed_by: str,
        reassessment_id: str | None = None,
        *,
        substances: list[Substance] | None = None,
    ) -> CommandResult:
        """Record an assessment of the named or the open reassessment.

        The journey decides its kind (comprehensive while the intake assessment is open, a
        reassessment otherwise) and its id.
        """
        cmd = RecordAssessment(
            dimensions=dimensions,
            assessed_by=assessed_by,
            reassessment_id=reassessment_id,
            substances=substances or [],
        )
        return await self.record_assessment(journey_id, cmd)

    async def record_assessment(self, journey_id: str, cmd: RecordAssessment) -> CommandResult:
        """Record an assessment; the result carries the recommendation."""
        return await self._update(journey_id, ClientJourneyWorkflow.record_assessment, cmd)

    async def request_reassessment(
        self, journey_id: str, cmd: RequestReassessment
    ) -> CommandResult:
        """Open a staff-requested reassessment."""
        return await self._update(journey_id, ClientJourneyWorkflow.request_reassessment, cmd)

    async def decide(self, journey_id: str, cmd: DecideTransition) -> CommandResult:
        """Record a decision."""
        return await self._update(journey_id, ClientJourneyWorkflow.decide, cmd)

    async def report_event(self, journey_id: str, cmd: ReportEvent) -> CommandResult:
        """Report a clinical event."""
        return await self._update(journey_id, ClientJourneyWorkflow.report_event, cmd)

    async def change_care_team(self, journey_id: str, cmd: ChangeCareTeam) -> CommandResult:
        """Replace the care team."""
        return await self._update(journey_id, ClientJourneyWorkflow.change_care_team, cmd)

    async def revise_plan(self, journey_id: str, cmd: RevisePlan) -> CommandResult:
        """Write a new plan version."""
        return await self._update(journey_id, ClientJourneyWorkflow.revise_plan, cmd)

    async def sign_plan(self, journey_id: str, cmd: SignPlan) -> CommandResult:
        """Sign the current plan version."""
        return await self._update(journey_id, ClientJourneyWorkflow.sign_plan, cmd)

    async def record_check_in(self, journey_id: str, cmd: RecordCheckIn) -> CommandResult:
        """Record an aftercare check-in."""
        return await self._update(journey_id, ClientJourneyWorkflow.record_check_in, cmd)

    async def record_instrument(self, journey_id: str, cmd: RecordInstrument) -> CommandResult:
        """Score an instrument; the result carries total, band and flags."""
        return await self._update(journey_id, ClientJourneyWorkflow.record_instrument, cmd)

    async def complete_task(self, journey_id: str, cmd: CompleteTask) -> CommandResult:
        """Close a follow-up or outreach task."""
        return await self._update(journey_id, ClientJourneyWorkflow.complete_task, cmd)

    async def preview_migration(self, journey_id: str, target: Policy) -> MigrationPlan:
        """Dry run of a policy migration (a query; nothing changes)."""
        try:
            return await self._handle(journey_id).query(
                ClientJourneyWorkflow.preview_migration, target
            )
        except RPCError as exc:
            raise _translate_rpc(journey_id, exc) from None

    async def migrate_policy(self, journey_id: str, cmd: MigratePolicy) -> CommandResult:
        """Move the journey to another policy version."""
        return await self._update(journey_id, ClientJourneyWorkflow.migrate_policy, cmd)

    async def discharge(self, journey_id: str, cmd: Discharge) -> CommandResult:
        """Discharge the client."""
        return await self._update(journey_id, ClientJourneyWorkflow.discharge, cmd)

    async def healthy(self) -> bool:
        """Whether the Temporal frontend answers."""
        try:
            return await self._client.service_client.check_health()
        except (RPCError, RuntimeError):
            return False

    def _handle(self, journey_id: str) -> Handle:
        return self._client.get_workflow_handle_for(
            ClientJourneyWorkflow.run, journey_workflow_id(journey_id)
        )

    async def _update(
        self,
        journey_id: str,
        update: UpdateMethodMultiParam[[ClientJourneyWorkflow, C], CommandResult],
        cmd: C,
    ) -> CommandResult:
        handle = self._handle(journey_id)
        try:
            return await handle.execute_update(update, cmd)
        except WorkflowUpdateFailedError as exc:
            raise _translate_update(exc) from None
        except RPCError as exc:
            if await self._is_closed(handle):
                raise CommandRejectedError(
                    RejectionCode.JOURNEY_CLOSED, f"journey {journey_id} has ended"
                ) from None
            raise _translate_rpc(journey_id, exc) from None

    async def _is_closed(self, handle: Handle) -> bool:
        # The raw call: the status is all we need, and it decodes on every server.
        request = DescribeWorkflowExecutionRequest(
            namespace=self._client.namespace,
            execution=WorkflowExecution(workflow_id=handle.id),
        )
        try:
            description = await self._client.workflow_service.describe_workflow_execution(request)
        except RPCError:
            return False
        status = description.workflow_execution_info.status
        return status != WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING


def _translate_update(exc: WorkflowUpdateFailedError) -> Exception:
    cause = exc.cause
    if isinstance(cause, ApplicationError) and cause.type == COMMAND_REJECTED:
        details = cause.details
        code = RejectionCode(details[0]) if details else RejectionCode.TRANSITION_NOT_ALLOWED
        return CommandRejectedError(code, cause.message)
    return exc


def _translate_rpc(journey_id: str, exc: RPCError) -> Exception:
    if exc.status == RPCStatusCode.NOT_FOUND:
        return JourneyNotFoundError(f"journey {journey_id} not found")
    return exc
