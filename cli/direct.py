"""The CLI straight to Temporal and the read model (staff with cluster access)."""

from clinical.policy_loader import load_policy
from models.commands import CommandResult, OpenJourney, StaffCommand, StartJourney
from models.journey import Phase
from models.progress import ProgressView
from models.views import FeedItem, JourneyListItem, LiveJourney, Timeline
from readmodel.queries import JourneyQueries
from runtime.settings import Settings
from service.days import Due, ProgramCalendar
from service.ids import new_journey_id
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

    async def start(self, journey: OpenJourney, by: str) -> str:
        """Open a journey with the configured policy."""
        journey_id = journey.journey_id or new_journey_id()
        await self._journeys.start(
            StartJourney(
                journey_id=journey_id,
                care_team=journey.care_team,
                started_by=by,
                policy=load_policy(self._settings.policy_path),
                sex_at_birth=journey.sex_at_birth,
            )
        )
        return journey_id

    async def send(self, journey: str, cmd: StaffCommand) -> CommandResult:
        """To the journey's update of the command's name (``OPERATIONS``)."""
        return await self._journeys.send(journey, cmd)

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
