"""Send commands to journeys and read their live state, with errors callers can branch on."""

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TypeVar

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import WorkflowExecutionStatus
from temporalio.api.errordetails.v1 import QueryFailedFailure
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import (
    Client,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from models.commands import CommandResult, MigrationPlan, StaffCommand, StartJourney, operation_of
from models.errors import COMMAND_REJECTED, RejectionCode
from models.policy import Policy
from models.progress import ProgressView
from models.state import JourneyInput, JourneyState
from runtime import metrics
from service.ids import keyed_update_id
from workflows.journey import ClientJourneyWorkflow, StaleWakeUpError
from workflows.temporal_policy import journey_workflow_id

Handle = WorkflowHandle[ClientJourneyWorkflow, JourneyState]
T = TypeVar("T")

# A query refused for a stale wake-up is asked this many times in all, this far apart.
QUERY_TRIES = 4
QUERY_PAUSE_S = 0.5


class JourneyError(Exception):
    """Base of the errors a caller can branch on."""


class JourneyNotFoundError(JourneyError):
    """No journey has that id."""


class JourneyExistsError(JourneyError):
    """A journey with that id was already started."""


class JourneyUnavailableError(JourneyError):
    """The journey cannot answer just now (it is moving to another worker); try again."""


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

    async def start(self, cmd: StartJourney, *, retried: bool = False) -> None:
        """Start the journey's workflow; ids are never reused.

        Args:
            cmd: the start.
            retried: the id came from an idempotency key, so an existing journey with it is
                this same start retried: nothing is started and no error is raised.
        """
        with _measured(metrics.START_JOURNEY):
            await self._start(cmd, retried=retried)

    async def _start(self, cmd: StartJourney, *, retried: bool) -> None:
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
            if retried:
                return
            raise JourneyExistsError(f"journey {cmd.journey_id} already exists") from None

    async def state(self, journey_id: str) -> JourneyState:
        """The live state from the workflow query."""
        return await self._query(journey_id, lambda h: h.query(ClientJourneyWorkflow.state))

    async def progress(self, journey_id: str, at: datetime | None = None) -> ProgressView:
        """Milestones, goal status over time, instrument trends and the plan review.

        Args:
            journey_id: the journey.
            at: the time the view is for (days in recovery); now when not given.
        """
        when = at or datetime.now(UTC)
        return await self._query(
            journey_id, lambda h: h.query(ClientJourneyWorkflow.progress, when)
        )

    async def send(
        self, journey_id: str, cmd: StaffCommand, idempotency_key: str | None = None
    ) -> CommandResult:
        """Send any staff command to the journey's update of the same name (``OPERATIONS``).

        With an idempotency key the update id is derived from the actor, the operation and
        the key, so a retry (a lost connection, a killed client) gets the first result back
        instead of applying the command again.

        Raises:
            CommandRejectedError: the journey refused it (nothing changed), or it has ended.
            JourneyNotFoundError: no journey has that id.
        """
        update = operation_of(type(cmd)).name
        with _measured(update):
            return await self._send(journey_id, update, cmd, idempotency_key)

    async def _send(
        self, journey_id: str, update: str, cmd: StaffCommand, idempotency_key: str | None
    ) -> CommandResult:
        actor = str(getattr(cmd, cmd.ACTOR))
        update_id = keyed_update_id(actor, update, idempotency_key) if idempotency_key else None
        handle = self._handle(journey_id)
        try:
            result: CommandResult = await handle.execute_update(
                update, cmd, id=update_id, result_type=CommandResult
            )
            return result
        except WorkflowUpdateFailedError as exc:
            raise _translate_update(exc) from None
        except RPCError as exc:
            if await self._is_closed(handle):
                raise CommandRejectedError(
                    RejectionCode.JOURNEY_CLOSED, f"journey {journey_id} has ended"
                ) from None
            raise _translate_rpc(journey_id, exc) from None

    async def preview_migration(self, journey_id: str, target: Policy) -> MigrationPlan:
        """Dry run of a policy migration (a query; nothing changes)."""
        return await self._query(
            journey_id, lambda h: h.query(ClientJourneyWorkflow.preview_migration, target)
        )

    async def _query(self, journey_id: str, ask: Callable[[Handle], Awaitable[T]]) -> T:
        """A query, asked again while the journey refuses it for a stale wake-up.

        A worker that does not hold the journey refuses a query whose replay reaches a timer
        fired after the last workflow task (``StaleWakeUpError``) until the journey's next
        task has run: a few seconds while a worker is replaced. The query is asked
        ``QUERY_TRIES`` times in all, ``QUERY_PAUSE_S`` apart; then it is unavailable.
        """
        handle = self._handle(journey_id)
        for attempt in range(QUERY_TRIES):
            try:
                return await ask(handle)
            except RPCError as exc:
                raise _translate_rpc(journey_id, exc) from None
            except WorkflowQueryFailedError as exc:
                if not is_stale_wake_up_refusal(exc):
                    raise
                if attempt + 1 < QUERY_TRIES:
                    await asyncio.sleep(QUERY_PAUSE_S)
        raise JourneyUnavailableError(
            f"journey {journey_id} is moving to another worker; try again in a few seconds"
        )

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


@contextmanager
def _measured(command: str) -> Iterator[None]:
    """Count the command by its outcome and time it (the command's name only: no ids)."""
    started = time.perf_counter()
    outcome = "failed"
    try:
        yield
        outcome = "accepted"
    except (CommandRejectedError, JourneyExistsError):
        outcome = "rejected"
        raise
    except JourneyNotFoundError:
        outcome = "not_found"
        raise
    finally:
        metrics.COMMANDS.labels(command, outcome).inc()
        metrics.COMMAND_SECONDS.labels(command).observe(time.perf_counter() - started)


def _translate_update(exc: WorkflowUpdateFailedError) -> Exception:
    cause = exc.cause
    if isinstance(cause, ApplicationError) and cause.type == COMMAND_REJECTED:
        details = cause.details
        code = RejectionCode(details[0]) if details else RejectionCode.TRANSITION_NOT_ALLOWED
        return CommandRejectedError(code, cause.message)
    return exc


def is_stale_wake_up_refusal(exc: WorkflowQueryFailedError) -> bool:
    """Whether the query failed on ``StaleWakeUpError``.

    Its message is encrypted with the payloads (``Encoded failure``); the failure's type is
    not. The client keeps the server's answer only as the error the query failure was raised
    from, so it is read there.
    """
    answer = exc.__cause__ or exc.__context__
    if not isinstance(answer, RPCError):
        return False
    for detail in answer.grpc_status.details:
        failed = QueryFailedFailure()
        if detail.Unpack(failed):
            return failed.failure.application_failure_info.type == StaleWakeUpError.__name__
    return False


def _translate_rpc(journey_id: str, exc: RPCError) -> Exception:
    if exc.status == RPCStatusCode.NOT_FOUND:
        return JourneyNotFoundError(f"journey {journey_id} not found")
    return exc
