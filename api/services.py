"""What the API needs, built once in the lifespan and shared by every request."""

from dataclasses import dataclass

from delivery.store import DeliveryStore
from models.policy import Policy
from readmodel.access import AccessRepository
from readmodel.queries import JourneyQueries
from service.journeys import JourneyService


@dataclass(frozen=True)
class ApiServices:
    """Journey commands, read-model queries, access control, the policy and deliveries."""

    journeys: JourneyService
    queries: JourneyQueries
    access: AccessRepository
    policy: Policy
    deliveries: DeliveryStore
