"""The CLI straight to Temporal and the read model (staff with cluster access)."""

import contextlib
import getpass
import os
from collections.abc import AsyncIterator

from clinical.policy_loader import load_policy
from models.commands import CommandResult, OpenJourney, StaffCommand, StartJourney
from models.journey import Phase
from models.progress import ProgressView
from models.views import FeedItem, JourneyListItem, LiveJourney, Timeline
from readmodel.access import AccessRepository
from readmodel.clients import ClientKeys, ClientStore
from readmodel.queries import JourneyQueries
from runtime.settings import Settings
from service.days import Due, ProgramCalendar
from service.ids import new_journey_id
from service.journeys import JourneyError, JourneyNotFoundError, JourneyService
from service.live import live_view


class DirectBackend:
    """Commands over a Temporal client, reads from the read model.

    Every read (show, progress, list, feed) appends an audit entry naming ``reader`` (the
    staff id given with ``--by``), as the API does for its token's owner; a read whose entry
    cannot be written shows nothing.
    """

    def __init__(
        self,
        settings: Settings,
        journeys: JourneyService,
        queries: JourneyQueries,
        calendar: ProgramCalendar | None = None,
        *,
        reader: str | None = None,
    ):
        self._settings = settings
        self._journeys = journeys
        self._queries = queries
        self._calendar = calendar or ProgramCalendar(settings.program_timezone)
        self._access = AccessRepository(queries.sessions)
        self._clients = ClientStore(queries.sessions, ClientKeys.from_settings(settings))
        self._reader = reader

    @contextlib.asynccontextmanager
    async def _audited(
        self, action: str, journey_id: str | None = None, about: str | None = None
    ) -> AsyncIterator[None]:
        """One audit entry for the read in the block: ``ok``, or why it failed."""
        if self._reader is None:
            raise JourneyError("a direct read needs the reader's staff id (--by)")
        detail = "; ".join(filter(None, ["direct mode", f"os user {_os_user()}", about]))
        try:
            yield
        except Exception as exc:
            outcome = "not_found" if isinstance(exc, JourneyNotFoundError) else type(exc).__name__
            # The read failed and showed nothing: its own error is the one to report, even
            # when the read model is what failed and the entry cannot be written either.
            with contextlib.suppress(Exception):
                await self._access.record(self._reader, action, journey_id, outcome[:32], detail)
            raise
        await self._access.record(self._reader, action, journey_id, "ok", detail)

    async def start(self, journey: OpenJourney, by: str) -> str:
        """Open a journey with the configured policy (for an existing client record, if named)."""
        if journey.client_id is not None and not await self._clients.exists(journey.client_id):
            raise JourneyError("--client: no such client")
        journey_id = new_journey_id()
        await self._journeys.start(
            StartJourney(
                journey_id=journey_id,
                care_team=journey.care_team,
                started_by=by,
                policy=load_policy(self._settings.policy_path),
                sex_at_birth=journey.sex_at_birth,
                client_id=journey.client_id,
            )
        )
        return journey_id

    async def send(self, journey: str, cmd: StaffCommand) -> CommandResult:
        """To the journey's update of the command's name (``OPERATIONS``)."""
        return await self._journeys.send(journey, cmd)

    async def show(self, journey: str) -> tuple[LiveJourney, Timeline | None]:
        """Live state from the workflow, timeline from the read model."""
        async with self._audited("journeys.show", journey):
            state = await self._journeys.state(journey)
            return live_view(state), await self._queries.get_timeline(journey)

    async def progress(self, journey: str) -> ProgressView:
        """From the workflow's progress query."""
        async with self._audited("journeys.progress", journey):
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
        async with self._audited("journeys.list", about=f"member {member}" if member else None):
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
        async with self._audited("journeys.feed", about=f"feed of {member}"):
            return await self._queries.feed(member, unread_only=unread, limit=limit)


def _os_user() -> str:
    """The operating-system account running the command, beside the --by it declared."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return f"uid {os.getuid()}"
