"""Non-PHI search attribute keys, and their registration on a server.

They help triage in the Temporal UI and never carry client data: a phase, a level-of-care
code, a review date and an urgent flag. Servers refuse upserts of attributes they do not
know (the workflow task then fails over and over), so every server must register them:
the embedded dev server through :func:`dev_server_flags`, the time-skipping test server and
external clusters through :func:`register` (``journeys setup``); a worker checks them with
:func:`require` before it polls.
"""

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


class SearchAttributeError(RuntimeError):
    """A journey search attribute exists on the server with another type."""


class MissingSearchAttributesError(SearchAttributeError):
    """The namespace lacks journey search attributes (``journeys setup`` registers them)."""


def dev_server_flags() -> list[str]:
    """``--search-attribute NAME=TYPE`` flags for ``temporal server start-dev``."""
    flags: list[str] = []
    for key in ALL_KEYS:
        flags += ["--search-attribute", f"{key.name}={_FLAG_TYPES[key.indexed_value_type]}"]
    return flags


async def register(client: Client) -> dict[str, str]:
    """Register the journey attributes the server lacks, through the operator service.

    Works on external clusters, the dev server and the time-skipping test server; the
    latter cannot list attributes, so all of them are (harmlessly) added again there.
    Idempotent: a second call finds them all and adds nothing.

    Returns:
        The attributes added, name to type (``Keyword``...); empty when all were there.

    Raises:
        SearchAttributeError: an attribute exists with another type.
        temporalio.service.RPCError: the server refused the registration.
    """
    missing = _missing(await _existing(client) or {})
    if missing:
        await _add(client, missing)
    return {name: _type_name(value) for name, value in missing.items()}


async def require(client: Client) -> None:
    """Check that the namespace has every journey attribute, with its type.

    A journey upserting an unknown attribute fails each workflow task, over and over; a
    worker calls this before it polls, so the operator gets one clear message instead.
    Servers that cannot list attributes (the time-skipping test server) pass.

    Raises:
        MissingSearchAttributesError: some are not registered (the message names them).
        SearchAttributeError: an attribute exists with another type.
    """
    existing = await _existing(client)
    if existing is None:
        return
    missing = _missing(existing)
    if missing:
        names = ", ".join(missing)
        raise MissingSearchAttributesError(
            f"namespace {client.namespace!r} lacks the search attributes {names}: "
            "run 'journeys setup' against it first"
        )


def _missing(
    existing: dict[str, IndexedValueType.ValueType],
) -> dict[str, IndexedValueType.ValueType]:
    missing: dict[str, IndexedValueType.ValueType] = {}
    for key in ALL_KEYS:
        wanted = IndexedValueType.ValueType(int(key.indexed_value_type))
        if key.name not in existing:
            missing[key.name] = wanted
        elif existing[key.name] != wanted:
            found, needed = _type_name(existing[key.name]), _type_name(wanted)
            raise SearchAttributeError(
                f"search attribute {key.name} exists as {found}; the journeys need {needed}"
            )
    return missing


def _type_name(value: IndexedValueType.ValueType) -> str:
    return IndexedValueType.Name(value).removeprefix("INDEXED_VALUE_TYPE_").title()


async def _existing(client: Client) -> dict[str, IndexedValueType.ValueType] | None:
    """The namespace's custom attributes; None where the server cannot list them."""
    try:
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=client.namespace)
        )
    except RPCError as exc:
        # The time-skipping test server can add attributes but not list them.
        if exc.status is not RPCStatusCode.UNIMPLEMENTED:
            raise
        return None
    return dict(listed.custom_attributes)


async def _add(client: Client, missing: dict[str, IndexedValueType.ValueType]) -> None:
    try:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(search_attributes=missing, namespace=client.namespace)
        )
    except RPCError as exc:
        # Another process registered them between our list and our add.
        if exc.status is not RPCStatusCode.ALREADY_EXISTS:
            raise
