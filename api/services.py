"""What the API needs, built once in the lifespan and shared by every request."""

from dataclasses import dataclass, field

from delivery.store import DeliveryStore
from models.policy import Policy
from readmodel.access import AccessRepository
from readmodel.queries import JourneyQueries
from service.days import ProgramCalendar
from service.journeys import JourneyService


@dataclass(frozen=True)
class ApiServices:
    """Journey commands, read-model queries, access control, the policy and deliveries.

    ``calendar`` is the clock and time zone that say what "now" and "today" are.
    """

    journeys: JourneyService
    queries: JourneyQueries
    access: AccessRepository
    policy: Policy
    deliveries: DeliveryStore
    calendar: ProgramCalendar = field(default_factory=ProgramCalendar)
