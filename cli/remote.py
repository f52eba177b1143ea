"""The CLI over the HTTP API with a staff token (no Temporal access needed)."""

import json
import uuid
from typing import Any

import httpx
from pydantic import TypeAdapter

from models.commands import CommandResult, OpenJourney, StaffCommand, operation_of
from models.errors import RejectionCode
from models.journey import Phase
from models.progress import ProgressView
from models.views import FeedItem, JourneyListItem, LiveJourney, StaffAccount, Timeline
from service.access import AccessCode, AccessDeniedError
from service.days import Due
from service.journeys import CommandRejectedError, JourneyError, JourneyNotFoundError

TIMEOUT_S = 60.0
# A change is sent again once when the connection fails before an answer arrives: its
# Idempotency-Key makes the API answer the repeat with the first result, never apply it twice.
CHANGE_ATTEMPTS = 2
_journey_list = TypeAdapter(list[JourneyListItem])
_feed = TypeAdapter(list[FeedItem])


class RemoteBackend:
    """Each operation is one API request; the token's owner is the actor."""

    def __init__(
        self, base_url: str, token: str, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=TIMEOUT_S,
            transport=transport,
        )
        # One key per change this invocation sends: repeats of it are the same change.
        self._invocation = uuid.uuid4().hex[:20]
        self._changes = 0

    async def close(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    def _change_key(self) -> dict[str, str]:
        self._changes += 1
        return {"Idempotency-Key": f"cli-{self._invocation}-{self._changes}"}

    async def _change(self, method: str, path: str, body: Any) -> Any:
        """Send a change, once more if the connection failed before the answer came."""
        headers = self._change_key()
        failure: httpx.TransportError | None = None
        for _ in range(CHANGE_ATTEMPTS):
            try:
                response = await self._http.request(method, path, json=body, headers=headers)
            except httpx.TransportError as exc:
                failure = exc
                continue
            return _answer(response)
        raise JourneyError(f"cannot reach the API at {self._http.base_url}: {failure}")

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise JourneyError(f"cannot reach the API at {self._http.base_url}: {exc}") from None
        return _answer(response)

    async def start(self, journey: OpenJourney, by: str) -> str:
        """POST /journeys; the token's owner opens it, the API generates an id not given."""
        created = await self._change("POST", "/journeys", journey.model_dump(mode="json"))
        return str(created["journey_id"])

    async def send(self, journey: str, cmd: StaffCommand) -> CommandResult:
        """The command's route in the table (``OPERATIONS``): fields named in its path go in
        the URL, the others in the body; the API fills in the actor from the token."""
        op = operation_of(type(cmd))
        if op.method is None or op.path is None:
            raise JourneyError(f"{op.name} is not offered by the API")
        in_path = op.path_fields
        values = cmd.model_dump(mode="json", include=set(in_path))
        route = op.path.format_map(values)
        body = cmd.model_dump(mode="json", exclude={cmd.ACTOR, *in_path})
        answer = await self._change(op.method, f"/journeys/{journey}{route}", body)
        return CommandResult.model_validate_json(_dump(answer))

    async def show(self, journey: str) -> tuple[LiveJourney, Timeline | None]:
        """GET /journeys/{id}."""
        detail = await self._call("GET", f"/journeys/{journey}")
        timeline = detail["timeline"]
        # JSON mode: the live view nests strict contracts (enums and dates arrive as strings).
        return (
            LiveJourney.model_validate_json(_dump(detail["live"])),
            Timeline.model_validate_json(_dump(timeline)) if timeline else None,
        )

    async def progress(self, journey: str) -> ProgressView:
        """GET /journeys/{id}/progress."""
        return ProgressView.model_validate_json(
            _dump(await self._call("GET", f"/journeys/{journey}/progress"))
        )

    async def list_journeys(
        self,
        phase: Phase | None,
        loc_code: str | None,
        due: Due | None,
        member: str | None,
        limit: int,
        offset: int,
    ) -> list[JourneyListItem]:
        """GET /journeys; the API's program time zone decides what ``due`` means."""
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        params |= {"phase": phase.value} if phase else {}
        params |= {"loc_code": loc_code} if loc_code else {}
        params |= {"due": due.value} if due else {}
        params |= {"member": member} if member else {}
        page = await self._call("GET", "/journeys", params=params)
        return _journey_list.validate_python(page["items"])

    async def feed(self, member: str, unread: bool, limit: int) -> list[FeedItem]:
        """GET /feed: the API serves the token owner's own feed only."""
        me = await self.whoami()
        if member != me.staff_id:
            raise JourneyError(f"the API serves only your own feed ({me.staff_id})")
        page = await self._call("GET", "/feed", params={"unread": unread, "limit": limit})
        return _feed.validate_python(page["items"])

    async def whoami(self) -> StaffAccount:
        """GET /me."""
        return StaffAccount.model_validate(await self._call("GET", "/me"))


def _answer(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        raise _error(response)
    return response.json()


def _dump(value: Any) -> str:
    return json.dumps(value)


def _refusal(code: str, detail: str) -> Exception:
    """A command refused by the journey or, before it was asked, for the account (403)."""
    if code in {c.value for c in RejectionCode}:
        return CommandRejectedError(RejectionCode(code), detail)
    if code in {c.value for c in AccessCode}:
        return AccessDeniedError(AccessCode(code), detail)
    return JourneyError(detail)


def _error(response: httpx.Response) -> Exception:
    try:
        body = response.json()
    except ValueError:
        body = {"detail": response.text[:200]}
    detail = body.get("detail")
    if response.status_code in (403, 409) and "code" in body:
        return _refusal(str(body["code"]), str(detail))
    if response.status_code == 404:
        return JourneyNotFoundError(str(detail))
    if response.status_code == 422 and isinstance(detail, list) and detail:
        first = detail[0]
        where = ".".join(str(p) for p in first.get("loc", [])[1:])
        return JourneyError(f"{where}: {first.get('msg')}")
    return JourneyError(f"API answered {response.status_code}: {detail}")
