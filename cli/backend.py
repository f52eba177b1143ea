"""Where CLI commands go: straight to Temporal and the read model, or to the HTTP API."""

from typing import Protocol

from models.commands import CommandResult, OpenJourney, StaffCommand
from models.journey import Phase
from models.progress import ProgressView
from models.views import FeedItem, JourneyListItem, LiveJourney, Timeline
from service.days import Due


class Backend(Protocol):
    """The operations the CLI offers, whichever way they travel.

    A staff command travels as its own model (``models.commands``), by the line of the
    command table (``OPERATIONS``) that names it, whichever way it goes.
    """

    async def start(self, journey: OpenJourney, by: str) -> str:
        """Open a journey (its id generated unless given); returns its id."""
        ...

    async def send(self, journey: str, cmd: StaffCommand) -> CommandResult:
        """Send one staff command to the journey."""
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
