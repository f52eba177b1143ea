"""The CLI over the HTTP API with a staff token (no Temporal access needed)."""

import json
from typing import Any

import httpx
from pydantic import TypeAdapter

from models.care import CareTeam
from models.clinical import Substance
from models.commands import CommandResult, WorkDisposition
from models.errors import RejectionCode
from models.instruments import SexAtBirth
from models.journey import DischargeReason, Phase, Priority
from models.plan import Goal, RecoverySupport, Signer
from models.policy import ClinicalEventKind
from models.progress import ProgressView
from models.views import FeedItem, JourneyListItem, LiveJourney, StaffAccount, Timeline
from service.access import AccessCode, AccessDeniedError
from service.days import Due
from service.journeys import CommandRejectedError, JourneyError, JourneyNotFoundError

TIMEOUT_S = 60.0
_journey_list = TypeAdapter(list[JourneyListItem])
_feed = TypeAdapter(list[FeedItem])


class RemoteBackend:
    """Each operation is one API request; the token's owner is the actor."""

    def __init__(self, base_url: str, token: str) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=TIMEOUT_S,
        )

    async def close(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise JourneyError(f"cannot reach the API at {self._http.base_url}: {exc}") from None
        if response.status_code >= 400:
            raise _error(response)
        return response.json()

    async def _command(self, method: str, path: str, body: dict[str, Any]) -> CommandResult:
        return CommandResult.model_validate_json(_dump(await self._call(method, path, json=body)))

    async def start(
        self, care_team: CareTeam, journey_id: str, by: str, sex_at_birth: SexAtBirth
    ) -> str:
        """POST /journeys."""
        body = {
            "care_team": care_team.model_dump(mode="json"),
            "journey_id": journey_id,
            "sex_at_birth": sex_at_birth.value,
        }
        created = await self._call("POST", "/journeys", json=body)
        return str(created["journey_id"])

    async def assess(
        self,
        journey: str,
        dimensions: dict[str, int],
        by: str,
        reassessment: str | None,
        substances: list[Substance] | None = None,
    ) -> CommandResult:
        """POST /journeys/{id}/assessments."""
        body = {
            "dimensions": dimensions,
            "reassessment_id": reassessment,
            "substances": [s.value for s in substances or []],
        }
        return await self._command("POST", f"/journeys/{journey}/assessments", body)

    async def decide(self, journey: str, by: str, decision: dict[str, Any]) -> CommandResult:
        """POST /journeys/{id}/decisions."""
        body = {k: (v.value if isinstance(v, Phase) else v) for k, v in decision.items()}
        return await self._command("POST", f"/journeys/{journey}/decisions", body)

    async def reassess(
        self, journey: str, by: str, reason: str, priority: Priority
    ) -> CommandResult:
        """POST /journeys/{id}/reassessments."""
        body = {"reason": reason, "priority": priority.value}
        return await self._command("POST", f"/journeys/{journey}/reassessments", body)

    async def event(self, journey: str, kind: ClinicalEventKind, by: str) -> CommandResult:
        """POST /journeys/{id}/events."""
        return await self._command("POST", f"/journeys/{journey}/events", {"kind": kind.value})

    async def measure(self, journey: str, code: str, answers: list[int], by: str) -> CommandResult:
        """POST /journeys/{id}/instruments."""
        body = {"code": code, "answers": answers}
        return await self._command("POST", f"/journeys/{journey}/instruments", body)

    async def complete_task(self, journey: str, task_id: str, by: str) -> CommandResult:
        """POST /journeys/{id}/tasks/{task_id}/complete."""
        path = f"/journeys/{journey}/tasks/{task_id}/complete"
        return CommandResult.model_validate_json(_dump(await self._call("POST", path)))

    async def check_in(
        self, journey: str, by: str, supports: list[RecoverySupport], substance_use: bool
    ) -> CommandResult:
        """POST /journeys/{id}/check-ins."""
        body = {"supports_attended": [s.value for s in supports], "substance_use": substance_use}
        return await self._command("POST", f"/journeys/{journey}/check-ins", body)

    async def team(self, journey: str, care_team: CareTeam, by: str, reason: str) -> CommandResult:
        """PUT /journeys/{id}/care-team."""
        body = {"care_team": care_team.model_dump(mode="json"), "reason": reason}
        return await self._command("PUT", f"/journeys/{journey}/care-team", body)

    async def plan(
        self,
        journey: str,
        goals: list[Goal],
        by: str,
        reason: str,
        recovery_supports: list[RecoverySupport],
    ) -> CommandResult:
        """PUT /journeys/{id}/plan."""
        body = {
            "reason": reason,
            "goals": [g.model_dump(mode="json") for g in goals],
            "recovery_supports": [s.value for s in recovery_supports],
        }
        return await self._command("PUT", f"/journeys/{journey}/plan", body)

    async def sign(self, journey: str, version: int, signer: Signer, by: str) -> CommandResult:
        """POST /journeys/{id}/plan/signatures."""
        body = {"version": version, "signer": signer.value}
        return await self._command("POST", f"/journeys/{journey}/plan/signatures", body)

    async def discharge(
        self,
        journey: str,
        reason: DischargeReason,
        by: str,
        dispositions: list[WorkDisposition] | None = None,
    ) -> CommandResult:
        """POST /journeys/{id}/discharge."""
        body = {
            "reason": reason.value,
            "dispositions": [
                d.model_dump(mode="json", exclude_none=True) for d in dispositions or []
            ],
        }
        return await self._command("POST", f"/journeys/{journey}/discharge", body)

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
