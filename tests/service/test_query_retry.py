"""A query the journey refuses for a stale wake-up is asked again, then answered unavailable.

The refusal is built as the server sends it (a ``QueryFailedFailure`` whose failure message is
encrypted and whose type is not) and raised the way the client raises it;
``tests/integration/test_query_on_another_worker.py`` has a worker refuse one for real.
"""

from collections.abc import Awaitable, Callable

import pytest
from google.protobuf.any_pb2 import Any as AnyProto
from temporalio.api.common.v1 import GrpcStatus
from temporalio.api.errordetails.v1 import QueryFailedFailure
from temporalio.api.failure.v1 import ApplicationFailureInfo, Failure
from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.service import RPCError, RPCStatusCode

from service import journeys
from service.journeys import JourneyService, JourneyUnavailableError, is_stale_wake_up_refusal


def _query_failure(failure_type: str) -> WorkflowQueryFailedError:
    """The error ``handle.query`` raises for a query the workflow failed with ``failure_type``."""
    failure = Failure(
        message="Encoded failure",
        application_failure_info=ApplicationFailureInfo(type=failure_type),
    )
    detail = AnyProto()
    detail.Pack(QueryFailedFailure(failure=failure))
    status = GrpcStatus(code=3, message="Encoded failure", details=[detail])
    rpc = RPCError("Encoded failure", RPCStatusCode.INVALID_ARGUMENT, status.SerializeToString())
    try:
        raise rpc
    except RPCError as err:
        try:
            raise WorkflowQueryFailedError(err.message)  # as the client does: no ``from``
        except WorkflowQueryFailedError as failed:
            return failed


def test_only_a_stale_wake_up_refusal_is_recognised() -> None:
    assert is_stale_wake_up_refusal(_query_failure("StaleWakeUpError"))
    assert not is_stale_wake_up_refusal(_query_failure("ValueError"))
    assert not is_stale_wake_up_refusal(WorkflowQueryFailedError("no server answer kept"))


def _asker(refusals: int, failure_type: str = "StaleWakeUpError") -> Callable[..., Awaitable[str]]:
    asked: list[int] = []

    async def ask(_handle: object) -> str:
        asked.append(1)
        if len(asked) <= refusals:
            raise _query_failure(failure_type)
        return f"answered on try {len(asked)}"

    return ask


@pytest.fixture
def service(monkeypatch: pytest.MonkeyPatch) -> JourneyService:
    monkeypatch.setattr(journeys, "QUERY_PAUSE_S", 0.0)
    # The client is never called: each test's ``ask`` stands for the query.
    return JourneyService(Client.__new__(Client), "unused")


async def test_a_refused_query_is_asked_again_until_it_is_answered(
    service: JourneyService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(JourneyService, "_handle", lambda self, journey_id: journey_id)
    answer = await service._query("J-1", _asker(journeys.QUERY_TRIES - 1))
    assert answer == f"answered on try {journeys.QUERY_TRIES}"


async def test_a_query_refused_every_time_is_unavailable(
    service: JourneyService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(JourneyService, "_handle", lambda self, journey_id: journey_id)
    with pytest.raises(JourneyUnavailableError, match="J-1 is moving to another worker"):
        await service._query("J-1", _asker(journeys.QUERY_TRIES))


async def test_any_other_query_failure_is_raised_at_once(
    service: JourneyService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(JourneyService, "_handle", lambda self, journey_id: journey_id)
    with pytest.raises(WorkflowQueryFailedError):
        await service._query("J-1", _asker(1, "ValueError"))
