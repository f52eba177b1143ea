"""Non-PHI search attribute keys, and their registration on a server."""

from typing import Any

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.common import SearchAttributeIndexedValueType, SearchAttributeKey
from temporalio.service import RPCError, RPCStatusCode

JOURNEY_PHASE = SearchAttributeKey.for_keyword("JourneyPhase")
JOURNEY_LOC = SearchAttributeKey.for_keyword("JourneyLoc")
JOURNEY_NEXT_REVIEW = SearchAttributeKey.for_datetime("JourneyNextReview")
JOURNEY_URGENT = SearchAttributeKey.for_bool("JourneyUrgent")
ALL_KEYS: tuple[SearchAttributeKey[Any], ...] = (
    JOURNEY_PHASE,
    JOURNEY_LOC,
    JOURNEY_NEXT_REVIEW,
    JOURNEY_URGENT,
)

_FLAG_TYPES = {
    SearchAttributeIndexedValueType.KEYWORD: "Keyword",
    SearchAttributeIndexedValueType.DATETIME: "Datetime",
    SearchAttributeIndexedValueType.BOOL: "Bool",
}


def dev_server_flags() -> list[str]:
    """``--search-attribute NAME=TYPE`` flags for ``temporal server start-dev``."""
    flags: list[str] = []
    for key in ALL_KEYS:
        flags += ["--search-attribute", f"{key.name}={_FLAG_TYPES[key.indexed_value_type]}"]
    return flags


async def register(client: Client) -> None:
    """Register any missing attribute through the operator service (test servers, clusters)."""
    try:
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=client.namespace)
        )
        existing = set(listed.custom_attributes)
    except RPCError as exc:
        # The time-skipping test server can add attributes but not list them.
        if exc.status is not RPCStatusCode.UNIMPLEMENTED:
            raise
        existing = set()
    missing = {
        key.name: IndexedValueType.ValueType(int(key.indexed_value_type))
        for key in ALL_KEYS
        if key.name not in existing
    }
    if not missing:
        return
    try:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(search_attributes=missing, namespace=client.namespace)
        )
    except RPCError as exc:
        if exc.status is not RPCStatusCode.ALREADY_EXISTS:
            raise
