"""ClientJourneyWorkflow: one durable workflow per treatment episode."""

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.readmodel import ReadModelActivities
    from clinical import commands, episode, measures, migration
    from clinical.errors import RuleViolation
    from clinical.journal import open_tasks, prune
    from clinical.progress import progress_view
    from clinical.shared_policy import shared
    from clinical.timers import next_deadline, run_due_work
    from models.commands import (
        AddNote,
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
    )
    from models.errors import COMMAND_REJECTED
    from models.policy import Policy
    from models.progress import ProgressView
    from models.state import (
        BOUNDED_WORK_RULES,
        LEGACY_RULES,
        SAFETY_RULES,
        JourneyInput,
        JourneyState,
    )
    from workflows import search
    from workflows.projection import Projected, build_batch
    from workflows.temporal_policy import PROJECTION_RETRY, PROJECTION_TIMEOUT


# Workflow change markers (workflow.patched): histories recorded before a change replay the
# old code; new runs (a start or a continue-as-new) take the new one.
KEEP_WAKE_TIMER = "keep-wake-timer"
# New runs take the clinical-safety rules (models.state.SAFETY_RULES); a run recorded before
# keeps the rules version its state carries.
CLINICAL_SAFETY_RULES = "clinical-safety-rules"
# A policy migration accepted from now on also brings the journey the current clinical rules.
MIGRATION_TAKES_CURRENT_RULES = "migration-takes-current-rules"
# New runs, and migrations from now on, take the bounded-open-work rules (BOUNDED_WORK_RULES).
BOUNDED_OPEN_WORK = "bounded-open-work"
MIGRATION_TAKES_BOUNDED_WORK = "migration-takes-bounded-open-work"
# New runs from now on record one marker that stands for the three run-wide changes above
# (KEEP_WAKE_TIMER, CLINICAL_SAFETY_RULES, BOUNDED_OPEN_WORK): each marker costs a run two
# history events (the marker and the TemporalChangeVersion search attribute) and the server a
# visibility write. Runs recorded before replay the markers they carry.
CURRENT_AT_START = "current-at-start"
# New runs from now on record this one marker instead: it stands for CURRENT_AT_START's three
# changes and for a wake-up that decides its commands without workflow.now() (see
# _wait_for_due_work). Runs recorded before replay the markers they carry.
CURRENT_AT_START_2 = "current-at-start-2"
# The wake-up timer for a deadline already past (see _wait_for_due_work).
SHORTEST_WAIT = timedelta(milliseconds=1)


class StaleWakeUpError(Exception):
    """A fired wake-up timer reached the journey with the clock of the workflow task before it.

    That happens only outside a workflow task: a worker that does not hold the journey
    answers a query by replaying its history, fired timers after the last task included. Were
    the journey to act on it, the worker would keep the commands it made and send them with
    the next task, split from the commands the rest of that task brings (an update), which a
    replay of the history sees together: the history would no longer replay. Raising fails
    this activation only: the worker drops the journey (the query fails and can be sent
    again) and the next workflow task replays the history from the start.
    """


def _rejected(violation: RuleViolation) -> ApplicationError:
    return ApplicationError(
        violation.message, violation.code.value, type=COMMAND_REJECTED, non_retryable=True
    )


@workflow.defn
class ClientJourneyWorkflow:
    """Carries one client through intake, withdrawal management, treatment and aftercare."""

    @workflow.init
    def __init__(self, journey: JourneyInput) -> None:
        # Equal policies are one frozen object per worker (the biggest part of a cached
        # journey). The input stays referenced while the run lasts, so it is rebound too.
        if journey.state is not None:
            journey.state.policy = shared(journey.state.policy)
            self._state = journey.state
        else:
            assert journey.start is not None  # guaranteed by JourneyInput
            journey.start.policy = shared(journey.start.policy)
            # The execution's start event time, not now(): an empty first workflow task is
            # folded away on replay, so now() here could differ between run and replay.
            self._state = commands.start(journey.start, workflow.info().workflow_start_time)
            self._state.client_id = journey.start.client_id
            self._state.rules = LEGACY_RULES
        # Checked first, so a new run records only this marker (the others short-circuit).
        self._deadline_clock = workflow.patched(CURRENT_AT_START_2)
        self._current = self._deadline_clock or workflow.patched(CURRENT_AT_START)
        if self._current or workflow.patched(CLINICAL_SAFETY_RULES):
            self._state.rules = max(self._state.rules, SAFETY_RULES)
        if self._current or workflow.patched(BOUNDED_OPEN_WORK):
            self._state.rules = max(self._state.rules, BOUNDED_WORK_RULES)
        self._search_attributes: dict[str, object] = {}
        self._projected = Projected()
        # The wake-up timer and the deadline it is set for (kept while the deadline holds).
        self._wake: asyncio.Task[None] | None = None
        self._wake_at: datetime | None = None
        # The workflow clock when the journey's code last ran in a workflow task (a command or
        # the main loop); a fired timer seen at that same clock came outside one.
        self._ran_at: datetime | None = None

    @workflow.run
    async def run(self, journey: JourneyInput) -> JourneyState:
        """Project changes, sleep until the next deadline, do the due work; repeat.

        Work handed over at discharge keeps the run going (and escalating) until it is done.
        """
        while self._state.phase.is_open or open_tasks(self._state):
            await self._flush()
            if workflow.info().is_continue_as_new_suggested():
                await self._drain_handlers()
                self._cancel_wake()
                workflow.continue_as_new(JourneyInput(state=self._state))
            if self._deadline_clock:
                run_due_work(self._state, await self._wait_for_due_work())
                continue
            if self._current or workflow.patched(KEEP_WAKE_TIMER):
                await self._wait_for_work()
            else:
                await self._sleep_until_deadline()
            run_due_work(self._state, workflow.now())
        await self._drain_handlers()
        self._cancel_wake()
        return self._state

    async def _wait_for_due_work(self) -> datetime:
        """Wait for a change to project or the next deadline; returns when the due work is at.

        A fired timer can reach the workflow with a stale clock: a worker that does not hold
        the journey and answers a query while the timer's workflow task waits replays the
        fired timer with the clock of the task before it, keeps the commands it made and sends
        them with the next task, while a replay gives the fired timer that next task's clock.
        So, woken by the timer, the work is done as of the deadline the timer was set for, and
        whether a timer starts never depends on the clock (a deadline already past gets the
        shortest one): both see the same commands. That still split the commands from those
        of an update the next task brings, so such a wake-up is now refused outright
        (StaleWakeUpError); the deadline clock stays for the runs recorded with it.

        Returns:
            The deadline of the fired timer, else workflow.now() (a command or a suggested
            continue-as-new woke it, which comes with a workflow task and its clock).
        """
        deadline = next_deadline(self._state)
        if self._wake is None or self._wake.done() or deadline != self._wake_at:
            self._cancel_wake()
            if deadline is not None:
                wait = max(deadline - workflow.now(), SHORTEST_WAIT)
                self._wake = asyncio.create_task(workflow.sleep(wait))
                self._wake_at = deadline
        if await self._wait_for_wake_or_work() and self._wake_at is not None:
            return self._wake_at
        return workflow.now()

    async def _wait_for_wake_or_work(self) -> bool:
        """Wait for a change to project, a suggested continue-as-new or the wake-up timer.

        Returns:
            Whether the wake-up timer fired (refused with StaleWakeUpError outside a task).
        """
        self._ran_at = workflow.now()
        await workflow.wait_condition(
            lambda: (
                bool(self._state.outbox)
                or workflow.info().is_continue_as_new_suggested()
                or (self._wake is not None and self._wake.done())
            )
        )
        fired = self._wake is not None and self._wake.done()
        if fired:
            self._refuse_stale_wake_up()
        return fired

    def _refuse_stale_wake_up(self) -> None:
        """Raise StaleWakeUpError when the timer fired at the clock the journey last ran at.

        In a workflow task the clock is the task's start, which comes after the timer fired
        and after the task before it ended: later than any clock the journey ran at before.
        Only outside a task (a query replaying the history) can it be equal.
        """
        if self._ran_at is not None and workflow.now() <= self._ran_at:
            raise StaleWakeUpError(
                "a fired timer reached the journey outside a workflow task; "
                "the next workflow task replays it"
            )

    async def _wait_for_work(self) -> None:
        """Wait for a change to project or the next deadline.

        The timer stays while the deadline holds: a command that leaves the deadline where it
        was costs no timer cancelled and started again (two history events each).
        """
        deadline = next_deadline(self._state)
        if deadline is not None and deadline <= workflow.now():
            return
        if self._wake is None or self._wake.done() or deadline != self._wake_at:
            self._cancel_wake()
            if deadline is not None:
                self._wake = asyncio.create_task(workflow.sleep(deadline - workflow.now()))
                self._wake_at = deadline
        await self._wait_for_wake_or_work()

    def _cancel_wake(self) -> None:
        if self._wake is not None and not self._wake.done():
            self._wake.cancel()
        self._wake, self._wake_at = None, None

    async def _sleep_until_deadline(self) -> None:
        """Before KEEP_WAKE_TIMER: a timer per wait (journeys started before it replay this)."""
        deadline = next_deadline(self._state)
        timeout = None if deadline is None else deadline - workflow.now()
        if timeout is not None and timeout <= timedelta(0):
            return
        self._ran_at = workflow.now()
        try:
            await workflow.wait_condition(
                lambda: bool(self._state.outbox) or workflow.info().is_continue_as_new_suggested(),
                timeout=timeout,
            )
        except TimeoutError:  # the normal way to wake up for due work
            self._refuse_stale_wake_up()

    async def _drain_handlers(self) -> None:
        """Wait until every accepted command finished and every change is projected."""
        while True:
            await self._flush()
            await workflow.wait_condition(
                lambda: workflow.all_handlers_finished() or bool(self._state.outbox)
            )
            if not self._state.outbox:
                return

    async def _flush(self) -> None:
        """Project every pending event into the read model, in order."""
        while self._state.outbox:
            batch = build_batch(self._state, self._projected)
            await workflow.execute_local_activity_method(
                ReadModelActivities.project,
                batch,
                start_to_close_timeout=PROJECTION_TIMEOUT,
                retry_policy=PROJECTION_RETRY,
            )
            projected = batch.summary.seq
            self._state.outbox = [e for e in self._state.outbox if e.seq > projected]
            self._state.projected_seq = projected
            prune(self._state)
            self._upsert_search_attributes()

    def _upsert_search_attributes(self) -> None:
        values = search.values_for(self._state)
        if values != self._search_attributes:
            workflow.upsert_search_attributes(search.updates_for(self._state))
            self._search_attributes = values

    async def _command(self, apply: Callable[[datetime], CommandResult]) -> CommandResult:
        """Apply a command (it re-checks itself) and answer once its change is projected."""
        self._ran_at = workflow.now()
        try:
            result = apply(workflow.now())
        except RuleViolation as violation:
            raise _rejected(violation) from None
        changed_up_to = self._state.seq
        await workflow.wait_condition(lambda: self._state.projected_seq >= changed_up_to)
        return result

    @staticmethod
    def _validate(check: Callable[[], object]) -> None:
        try:
            check()
        except RuleViolation as violation:
            raise _rejected(violation) from None

    @workflow.query
    def state(self) -> JourneyState:
        """The whole live state of the journey."""
        return self._state

    @workflow.query
    def progress(self, at: datetime) -> ProgressView:
        """Milestones, goals over time, instrument trends and the plan review as of ``at``.

        The caller gives the time: in a query, ``workflow.now()`` is the time of the last
        workflow task, which for a quiet journey may be days old.
        """
        return progress_view(self._state, max(at, workflow.now()))

    @workflow.update
    async def record_assessment(self, cmd: RecordAssessment) -> CommandResult:
        """Record an ASAM assessment and get the policy's recommendation."""
        return await self._command(
            lambda now: commands.apply_record_assessment(self._state, cmd, now)
        )

    @record_assessment.validator
    def _check_record_assessment(self, cmd: RecordAssessment) -> None:
        self._validate(lambda: commands.check_record_assessment(self._state, cmd))

    @workflow.update
    async def request_reassessment(self, cmd: RequestReassessment) -> CommandResult:
        """Open a reassessment at a staff member's request."""
        return await self._command(
            lambda now: commands.apply_request_reassessment(self._state, cmd, now)
        )

    @request_reassessment.validator
    def _check_request_reassessment(self, cmd: RequestReassessment) -> None:
        self._validate(lambda: commands.check_request_reassessment(self._state, cmd))

    @workflow.update
    async def decide(self, cmd: DecideTransition) -> CommandResult:
        """Record a clinician's decision on an assessed reassessment."""
        return await self._command(lambda now: commands.apply_decide(self._state, cmd, now))

    @decide.validator
    def _check_decide(self, cmd: DecideTransition) -> None:
        self._validate(lambda: commands.check_decide(self._state, cmd, workflow.now()))

    @workflow.update
    async def report_event(self, cmd: ReportEvent) -> CommandResult:
        """Report a clinical event (relapse, positive screen, missed session...)."""
        return await self._command(lambda now: episode.apply_report_event(self._state, cmd, now))

    @report_event.validator
    def _check_report_event(self, cmd: ReportEvent) -> None:
        self._validate(lambda: episode.check_report_event(self._state, cmd))

    @workflow.update
    async def add_note(self, cmd: AddNote) -> CommandResult:
        """Add a free-text note to the timeline for the care team."""
        return await self._command(lambda now: episode.apply_add_note(self._state, cmd, now))

    @add_note.validator
    def _check_add_note(self, cmd: AddNote) -> None:
        self._validate(lambda: episode.check_add_note(self._state, cmd))

    @workflow.update
    async def change_care_team(self, cmd: ChangeCareTeam) -> CommandResult:
        """Replace the care team."""
        return await self._command(
            lambda now: episode.apply_change_care_team(self._state, cmd, now)
        )

    @change_care_team.validator
    def _check_change_care_team(self, cmd: ChangeCareTeam) -> None:
        self._validate(lambda: episode.check_change_care_team(self._state, cmd))

    @workflow.update
    async def revise_plan(self, cmd: RevisePlan) -> CommandResult:
        """Write a new treatment plan version."""
        return await self._command(lambda now: episode.apply_revise_plan(self._state, cmd, now))

    @revise_plan.validator
    def _check_revise_plan(self, cmd: RevisePlan) -> None:
        self._validate(lambda: episode.check_revise_plan(self._state, cmd))

    @workflow.update
    async def sign_plan(self, cmd: SignPlan) -> CommandResult:
        """Sign the current plan version as the clinician or for the client."""
        return await self._command(lambda now: episode.apply_sign_plan(self._state, cmd, now))

    @sign_plan.validator
    def _check_sign_plan(self, cmd: SignPlan) -> None:
        self._validate(lambda: episode.check_sign_plan(self._state, cmd))

    @workflow.update
    async def record_check_in(self, cmd: RecordCheckIn) -> CommandResult:
        """Record an aftercare check-in."""
        return await self._command(lambda now: episode.apply_record_check_in(self._state, cmd, now))

    @record_check_in.validator
    def _check_record_check_in(self, cmd: RecordCheckIn) -> None:
        self._validate(lambda: episode.check_record_check_in(self._state, cmd, workflow.now()))

    @workflow.update
    async def record_instrument(self, cmd: RecordInstrument) -> CommandResult:
        """Score an instrument administration and fire the data-point triggers it meets."""
        return await self._command(
            lambda now: measures.apply_record_instrument(self._state, cmd, now)
        )

    @record_instrument.validator
    def _check_record_instrument(self, cmd: RecordInstrument) -> None:
        self._validate(lambda: measures.check_record_instrument(self._state, cmd))

    @workflow.update
    async def complete_task(self, cmd: CompleteTask) -> CommandResult:
        """Close a follow-up or outreach task."""
        return await self._command(lambda now: episode.apply_complete_task(self._state, cmd, now))

    @complete_task.validator
    def _check_complete_task(self, cmd: CompleteTask) -> None:
        self._validate(lambda: episode.check_complete_task(self._state, cmd))

    @workflow.query
    def preview_migration(self, target: Policy) -> MigrationPlan:
        """What moving to ``target`` would change (a dry run; nothing changes)."""
        return migration.plan_migration(self._state, target)

    @workflow.update
    async def migrate_policy(self, cmd: MigratePolicy) -> CommandResult:
        """Move the journey to another policy version (and to the current clinical rules)."""
        upgrade = workflow.patched(MIGRATION_TAKES_CURRENT_RULES)
        bounded = upgrade and workflow.patched(MIGRATION_TAKES_BOUNDED_WORK)
        return await self._command(lambda now: self._migrate(cmd, now, upgrade, bounded))

    def _migrate(
        self, cmd: MigratePolicy, now: datetime, upgrade: bool, bounded: bool
    ) -> CommandResult:
        result = migration.apply_migrate_policy(self._state, cmd, now)
        if upgrade:
            self._state.rules = max(self._state.rules, SAFETY_RULES)
        if bounded:
            self._state.rules = max(self._state.rules, BOUNDED_WORK_RULES)
        return result

    @migrate_policy.validator
    def _check_migrate_policy(self, cmd: MigratePolicy) -> None:
        self._validate(lambda: migration.check_migrate_policy(self._state, cmd))

    @workflow.update
    async def discharge(self, cmd: Discharge) -> CommandResult:
        """Discharge the client with a reason."""
        return await self._command(lambda now: episode.apply_discharge(self._state, cmd, now))

    @discharge.validator
    def _check_discharge(self, cmd: Discharge) -> None:
        self._validate(lambda: episode.check_discharge(self._state, cmd))
