"""Every endpoint, every error path, and the access rules."""

import re
from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.api.conftest import TEAM, ApiStack, open_as
from tests.clock import midday_zone, night_pins, pinned
from tests.delivery.rows import park_one

RATINGS = {"d1": 3, "d2": 2, "d3": 1, "d4": 1, "d5": 3, "d6": 3}


async def _create(api: ApiStack, journey_id: str, as_staff: str = "th-chen") -> None:
    await open_as(api, journey_id, as_staff)


async def _physician_accepts(api: ApiStack, journey_id: str) -> Any:
    """Withdrawal management is decided by a physician or a nurse (decision authority)."""
    async with api.client("dr-ames") as http:
        return await http.post(f"/journeys/{journey_id}/decisions", json={"accept": True})


async def test_a_journey_through_the_api(api: ApiStack) -> None:
    await _create(api, "J-API-1")
    async with api.client("th-chen") as http:
        assessed = await http.post("/journeys/J-API-1/assessments", json={"dimensions": RATINGS})
        assert assessed.status_code == 200, assessed.text
        assert assessed.json()["recommendation"]["loc_code"] == "3.7-WM"
        decided = await _physician_accepts(api, "J-API-1")
        assert decided.json()["phase"] == "withdrawal_management"
        event = await http.post("/journeys/J-API-1/events", json={"kind": "crisis"})
        assert event.json()["reassessment_id"]
        goal = {"goal_id": "g1", "description": "withdraw safely", "target_date": "2027-01-10"}
        plan = await http.put(
            "/journeys/J-API-1/plan", json={"reason": "initial plan", "goals": [goal]}
        )
        assert plan.json()["plan_version"] == 1
        team = await http.put(
            "/journeys/J-API-1/care-team",
            json={"care_team": TEAM, "reason": "same team, confirmed"},
        )
        assert team.status_code == 200
        detail = (await http.get("/journeys/J-API-1")).json()
        assert detail["live"]["phase"] == "withdrawal_management"
        assert detail["live"]["urgent"] is True
        assert detail["live"]["plan"]["version"] == 1
        assert [s["loc_code"] for s in detail["timeline"]["segments"]] == [None, "3.7-WM"]
        notified = {(n["recipient"], n["kind"]) for n in detail["timeline"]["notifications"]}
        assert ("dr-ames", "phase_changed") in notified
        assert [p["version"] for p in detail["timeline"]["plan_versions"]] == [1]
        assert detail["timeline"]["reassessments"][0]["recommended_loc"] == "3.7-WM"
        listed = (await http.get("/journeys", params={"phase": "withdrawal_management"})).json()
        assert "J-API-1" in [j["journey_id"] for j in listed["items"]]
        urgent = (await http.get("/journeys", params={"urgent": "true"})).json()
        assert "J-API-1" in [j["journey_id"] for j in urgent["items"]]
        board = (await http.get("/board")).json()
        assert any(c["loc_code"] == "3.7-WM" for c in board["counts"])
        await _crisis_work_is_due_in_the_programs_days(api, http, detail["live"])
    await _discharge_with_open_urgent_work(api, "J-API-1")
    async with api.client("th-chen") as http:
        closed = await http.post("/journeys/J-API-1/events", json={"kind": "relapse"})
        assert closed.status_code == 409
        assert closed.json()["code"] == "journey_closed"


async def _crisis_work_is_due_in_the_programs_days(
    api: ApiStack, http: httpx.AsyncClient, live: dict[str, Any]
) -> None:
    """The crisis reassessment (due in 4 h) with the API's clock pinned at 00:30 and 23:30.

    Its due time comes from the real clock; the program's zone is chosen so that it falls at
    midday there, so the board and the due filter are asked at the same distances from
    midnight whatever the hour of the run.
    """
    reassessment = live["active_reassessment"]
    due = datetime.fromisoformat(reassessment["due_at"])
    zone = midday_zone(due)
    for at, bucket in night_pins(due, zone):
        with pinned(api.app, at, zone):
            listed = (await http.get("/journeys", params={"due": bucket.value})).json()
            assert "J-API-1" in [j["journey_id"] for j in listed["items"]], (at, bucket)
            work = (await http.get("/board")).json()["work"]
        found = {
            window
            for window, tasks in work.items()
            for t in tasks
            if t["ref"] == reassessment["reassessment_id"] and t["priority"] == "urgent"
        }
        assert found == {bucket.value}, (at, bucket, work)


async def _discharge_with_open_urgent_work(api: ApiStack, journey_id: str) -> None:
    """The crisis left an urgent reassessment open: discharge needs its disposition."""
    async with api.client("th-chen") as http:
        live = (await http.get(f"/journeys/{journey_id}")).json()["live"]
        urgent = live["urgent_work"]
        assert urgent == [live["active_reassessment"]["reassessment_id"]]
        path = f"/journeys/{journey_id}/discharge"
        refused = await http.post(path, json={"reason": "transferred"})
        assert refused.status_code == 409
        assert refused.json()["code"] == "open_urgent_work"
        assert urgent[0] in refused.json()["detail"]
        bad = await http.post(
            path,
            json={"reason": "transferred", "dispositions": [{"item_id": urgent[0]}]},
        )
        assert bad.status_code == 422  # neither hand_to nor close_reason
        stranger = [{"item_id": urgent[0], "hand_to": "not-on-team"}]
        invalid = await http.post(path, json={"reason": "transferred", "dispositions": stranger})
        assert invalid.status_code == 409
        assert invalid.json()["code"] == "invalid_disposition"
        assert (await http.get(f"/journeys/{journey_id}")).json()["live"]["phase"] != "discharged"
        handed = [{"item_id": urgent[0], "hand_to": "dr-ames"}]
        discharged = await http.post(path, json={"reason": "transferred", "dispositions": handed})
        assert discharged.status_code == 200, discharged.text
        assert discharged.json()["phase"] == "discharged"
        timeline = (await http.get(f"/journeys/{journey_id}")).json()["timeline"]
        assert "work_handed_over" in [e["kind"] for e in timeline["events"]]
    async with api.client("admin-1") as http:
        entries = (await http.get("/audit", params={"journey_id": journey_id})).json()["items"]
    details = [e["detail"] for e in entries if e["action"].endswith("/discharge")]
    assert f"{urgent[0]} handed to dr-ames" in details


async def test_feed_pages_with_a_cursor_and_acknowledges(api: ApiStack) -> None:
    await _create(api, "J-API-FEED")
    async with api.client("th-chen") as http:
        await http.post("/journeys/J-API-FEED/assessments", json={"dimensions": RATINGS})
        await _physician_accepts(api, "J-API-FEED")
        first = (await http.get("/feed", params={"limit": 2})).json()
        assert len(first["items"]) == 2
        assert first["next_cursor"] == first["items"][-1]["id"]
        second = (
            await http.get("/feed", params={"limit": 2, "before": first["next_cursor"]})
        ).json()
        assert second["items"][0]["id"] < first["items"][-1]["id"]
        kinds = (await http.get("/feed", params={"kind": "phase_changed"})).json()["items"]
        assert kinds
        assert {i["kind"] for i in kinds} == {"phase_changed"}
        target = first["items"][0]["id"]
        assert (await http.post(f"/feed/{target}/ack")).json() == {"acknowledged": 1}
        assert (await http.post(f"/feed/{target}/ack")).json() == {"acknowledged": 0}
        unread = (await http.get("/feed", params={"unread": "true", "limit": 500})).json()["items"]
        assert target not in [i["id"] for i in unread]
    async with api.client("dr-ames") as http:
        # Someone else's notification is not theirs to acknowledge.
        assert (await http.post(f"/feed/{target}/ack")).json() == {"acknowledged": 0}


async def test_errors_name_the_field_and_change_nothing(api: ApiStack) -> None:
    await _create(api, "J-API-ERR")
    async with api.client("th-chen") as http:
        before = (await http.get("/journeys/J-API-ERR")).json()
        bad = await http.post("/journeys/J-API-ERR/assessments", json={"dimensions": {"d1": 9}})
        assert bad.status_code == 422
        assert bad.json()["detail"][0]["loc"][-1] == "d1"
        missing = await http.post("/journeys/J-API-ERR/assessments", json={"dimensions": {"d1": 1}})
        assert missing.status_code == 409
        assert missing.json()["code"] == "dimensions_mismatch"
        early = await http.post("/journeys/J-API-ERR/decisions", json={"accept": True})
        assert early.status_code == 409
        assert early.json()["code"] == "assessment_missing"
        extra = await http.post("/journeys/J-API-ERR/events", json={"kind": "relapse", "x": 1})
        assert extra.status_code == 422
        unknown_kind = await http.post("/journeys/J-API-ERR/events", json={"kind": "party"})
        assert unknown_kind.status_code == 422
        check_in = await http.post("/journeys/J-API-ERR/check-ins")
        assert check_in.status_code == 409
        assert check_in.json()["code"] == "not_in_aftercare"
        again = await http.post("/journeys/J-API-ERR/reassessments", json={"reason": "why"})
        assert again.status_code == 409
        assert again.json()["code"] == "reassessment_already_open"
        assert (await http.get("/journeys/J-API-ERR")).json()["live"] == before["live"]
        # Callers never choose a journey id (it goes into the workflow id and links).
        chosen = await http.post("/journeys", json={"care_team": TEAM, "journey_id": "J-API-ERR"})
        assert chosen.status_code == 422
        assert chosen.json()["detail"][0]["loc"] == ["body", "journey_id"]
        no_primary = {"members": [{"member_id": "th-chen", "role": "therapist"}]}
        assert (await http.post("/journeys", json={"care_team": no_primary})).status_code == 422
        named = {"care_team": TEAM, "journey_id": "Jane-Doe-1984-03-02-opioid-relapse"}
        assert (await http.post("/journeys", json=named)).status_code == 422
        generated = await http.post("/journeys", json={"care_team": TEAM})
        assert generated.status_code == 201
        assert re.fullmatch(r"J-[A-HJ-NP-Z2-9]{10}", generated.json()["journey_id"])
    async with api.client("ops-1") as http:
        missing_journey = await http.get("/journeys/J-NOPE")
        assert missing_journey.status_code == 404


async def test_deciding_with_nothing_open_says_so(api: ApiStack) -> None:
    """The journey decides the open reassessment; with none open it answers so, in one code."""
    await _create(api, "J-API-NONE")
    async with api.client("th-chen") as http:
        assessed = await http.post("/journeys/J-API-NONE/assessments", json={"dimensions": RATINGS})
        assert assessed.status_code == 200, assessed.text
        intake = assessed.json()["reassessment_id"]
        decided = await _physician_accepts(api, "J-API-NONE")
        assert decided.status_code == 200, decided.text
        assert decided.json()["reassessment_id"] == intake
        before = (await http.get("/journeys/J-API-NONE")).json()["live"]
    async with api.client("dr-ames") as http:
        again = await http.post("/journeys/J-API-NONE/decisions", json={"accept": True})
        assert again.status_code == 409
        assert again.json() == {
            "detail": "no reassessment is open",
            "code": "no_active_reassessment",
        }
        assess = await http.post("/journeys/J-API-NONE/assessments", json={"dimensions": RATINGS})
        assert assess.status_code == 409
        assert assess.json()["code"] == "no_active_reassessment"
        named = {"accept": True, "reassessment_id": intake}
        closed = await http.post("/journeys/J-API-NONE/decisions", json=named)
        assert closed.status_code == 409
        assert closed.json()["code"] == "reassessment_closed"
        assert (await http.get("/journeys/J-API-NONE")).json()["live"] == before
        unknown = await http.post("/journeys/J-API-NOPE/decisions", json={"accept": True})
        assert unknown.status_code == 404


@pytest.mark.parametrize("path", ["/journeys", "/board", "/feed", "/journeys/J-API-ACL"])
async def test_no_credentials_is_401(api: ApiStack, path: str) -> None:
    async with api.client(None) as http:
        answer = await http.get(path)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"


async def test_clinicians_see_only_their_care_teams(api: ApiStack) -> None:
    await _create(api, "J-API-ACL")
    async with api.client("th-other") as http:
        # Outside the team the journey answers as a missing one (404: no id confirmed).
        assert (await http.get("/journeys/J-API-ACL")).status_code == 404
        assert (
            await http.post("/journeys/J-API-ACL/events", json={"kind": "relapse"})
        ).status_code == 404
        mine = (await http.get("/journeys")).json()["items"]
        assert "J-API-ACL" not in [j["journey_id"] for j in mine]
        assert (await http.get("/journeys", params={"member": "th-chen"})).status_code == 403
        outside = await http.post("/journeys", json={"care_team": TEAM})
        assert outside.status_code == 403
    for staff in ("sv-gray", "ops-1"):
        async with api.client(staff) as http:
            assert (await http.get("/journeys/J-API-ACL")).status_code == 200
    async with api.client("dr-ames") as http:
        assert (await http.get("/journeys/J-API-ACL")).status_code == 200


async def test_audit_log_records_every_client_data_request_for_admins_only(api: ApiStack) -> None:
    async with api.client("th-chen") as http:
        journey = (await http.post("/journeys", json={"care_team": TEAM})).json()["journey_id"]
    async with api.client("th-other") as http:
        await http.get(f"/journeys/{journey}")
    async with api.client("th-chen") as http:
        await http.get(f"/journeys/{journey}")
        assert (await http.get("/audit")).status_code == 403
    async with api.client("admin-1") as http:
        entries = (await http.get("/audit", params={"journey_id": journey})).json()["items"]
    seen = {(e["actor"], e["action"], e["outcome"]) for e in entries}
    assert ("th-chen", "POST /journeys", "ok") in seen
    assert ("th-chen", "GET /journeys/{journey_id}", "ok") in seen
    assert ("th-other", "GET /journeys/{journey_id}", "forbidden") in seen


async def test_instruments_fire_triggers_and_tasks_complete(api: ApiStack) -> None:
    await _create(api, "J-API-INSTR")
    async with api.client("th-chen") as http:
        await http.post("/journeys/J-API-INSTR/assessments", json={"dimensions": RATINGS})
        await _physician_accepts(api, "J-API-INSTR")
        answers = [0, 0, 0, 0, 0, 0, 0, 0, 2]
        scored = await http.post(
            "/journeys/J-API-INSTR/instruments", json={"code": "PHQ-9", "answers": answers}
        )
        assert scored.status_code == 200, scored.text
        result = scored.json()["instrument"]
        assert (result["total"], result["band"], result["flags"]) == (
            2,
            "minimal",
            ["self_harm_risk"],
        )
        live = (await http.get("/journeys/J-API-INSTR")).json()["live"]
        assert live["urgent"] is True
        bad = await http.post(
            "/journeys/J-API-INSTR/instruments", json={"code": "PHQ-9", "answers": [5] * 9}
        )
        assert bad.status_code == 409
        assert bad.json()["code"] == "invalid_answers"
        detail = (await http.get("/journeys/J-API-INSTR")).json()
        task = next(t for t in detail["timeline"]["tasks"] if t["kind"] == "safety_follow_up")
        done = await http.post(f"/journeys/J-API-INSTR/tasks/{task['task_id']}/complete")
        assert done.json()["message"] == "task completed"
        again = await http.post(f"/journeys/J-API-INSTR/tasks/{task['task_id']}/complete")
        assert again.status_code == 409
        assert again.json()["code"] == "unknown_task"
        assert (await http.get("/journeys/J-API-INSTR")).json()["live"]["urgent"] is False


async def test_individualized_plan_and_signatures(api: ApiStack) -> None:
    await _create(api, "J-API-PLAN")
    body: dict[str, Any] = {
        "reason": "initial plan",
        "problems": [{"problem_id": "p1", "description": "opioid use", "dimension": "d5"}],
        "goals": [{"goal_id": "g1", "description": "stable on MAT", "target_date": "2027-02-01",
                   "problem_id": "p1", "measure": "negative screens for 8 weeks"}],
        "objectives": [{"objective_id": "o1", "goal_id": "g1", "description": "daily dosing",
                        "target_date": "2027-01-01"}],
        "interventions": [{"intervention_id": "i1", "objective_id": "o1", "modality": "mat",
                           "frequency": "daily", "responsible_role": "physician"}],
        "preferences": {"mutual_help": "twelve_step", "faith": "catholic"},
        "supports": [{"kind": "employment"}],
        "relapse_prevention": {"triggers": ["old friends"], "coping_strategies": ["call peer"]},
    }  # fmt: skip
    async with api.client("th-chen") as http:
        saved = await http.put("/journeys/J-API-PLAN/plan", json=body)
        assert saved.status_code == 200, saved.text
        assert saved.json()["plan_version"] == 1
        broken = {**body, "interventions": [{**body["interventions"][0], "objective_id": "o9"}]}
        refused = await http.put("/journeys/J-API-PLAN/plan", json=broken)
        assert refused.status_code == 422
        assert "unknown objective o9" in refused.text
        sign = "/journeys/J-API-PLAN/plan/signatures"
        first = await http.post(sign, json={"version": 1, "signer": "clinician"})
        assert first.json()["message"] == "signature recorded"
        second = await http.post(sign, json={"version": 1, "signer": "client"})
        assert second.json()["message"] == "plan review complete"
        again = await http.post(sign, json={"version": 1, "signer": "client"})
        assert (again.status_code, again.json()["code"]) == (409, "already_signed")
        plan = (await http.get("/journeys/J-API-PLAN")).json()["live"]["plan"]
    assert plan["interventions"][0]["modality"] == "mat"
    assert plan["preferences"]["mutual_help"] == "twelve_step"
    assert {s["signer"] for s in plan["signatures"]} == {"clinician", "client"}


async def test_progress_shows_milestones_goals_trends_and_the_plan_review(api: ApiStack) -> None:
    await _create(api, "J-API-PROG")
    async with api.client("th-chen") as http:
        await http.post(
            "/journeys/J-API-PROG/assessments",
            json={"dimensions": {**RATINGS, "d1": 0, "d2": 0, "d3": 0, "d4": 2, "d5": 0, "d6": 0}},
        )
        decided = await http.post("/journeys/J-API-PROG/decisions", json={"accept": True})
        assert decided.json()["loc_code"] == "2.1"
        for answers in ([2, 2, 2, 2, 2, 2, 2, 2, 0], [1, 1, 1, 1, 1, 1, 0, 0, 0]):
            await http.post(
                "/journeys/J-API-PROG/instruments", json={"code": "PHQ-9", "answers": answers}
            )
        goal = {"goal_id": "g1", "description": "return to work", "target_date": "2027-01-10",
                "status": "achieved"}  # fmt: skip
        plan = await http.put(
            "/journeys/J-API-PROG/plan",
            json={"reason": "review", "goals": [goal], "recovery_supports": ["recovery_coach"]},
        )
        assert plan.status_code == 200, plan.text
        progress = (await http.get("/journeys/J-API-PROG/progress")).json()
        refused = await http.post(
            "/journeys/J-API-PROG/check-ins", json={"supports_attended": ["bingo"]}
        )
        not_yet = await http.post("/journeys/J-API-PROG/check-ins", json={"substance_use": True})
        after = (await http.get("/journeys/J-API-PROG")).json()["live"]
    assert [m["kind"] for m in progress["milestones"]] == ["response", "goal_achieved"]
    assert progress["trends"][0]["baseline"] == 16
    assert progress["trends"][0]["latest"] == 6
    assert progress["goals"][0]["history"][0]["status"] == "achieved"
    assert progress["plan_review"]["initial"] is True  # signatures are still missing
    assert progress["recovery_supports_planned"] == ["recovery_coach"]
    assert progress["days_in_recovery"] == 0
    assert refused.status_code == 422
    assert "supports_attended" in refused.text
    assert (not_yet.status_code, not_yet.json()["code"]) == (409, "not_in_aftercare")
    assert after["active_reassessment"] is None  # neither request changed anything


async def test_progress_is_scoped_like_the_journey(api: ApiStack) -> None:
    await _create(api, "J-API-PROG2")
    async with api.client("th-other") as http:
        response = await http.get("/journeys/J-API-PROG2/progress")
    assert response.status_code == 404  # as a missing journey answers


async def test_operations_see_and_replay_the_dead_letter_list(api: ApiStack) -> None:
    await park_one(api.services.deliveries.sessions, "J-PARKED:1:ehr:webhook")
    async with api.client("th-chen") as http:
        assert (await http.get("/deliveries")).status_code == 403
        refused = await http.post("/deliveries/J-PARKED:1:ehr:webhook/replay")
        assert refused.status_code == 403
    async with api.client("ops-1") as http:
        dead = (await http.get("/deliveries", params={"status": "dead"})).json()["items"]
        assert [d["key"] for d in dead] == ["J-PARKED:1:ehr:webhook"]
        assert dead[0]["last_error"] == "PermanentDeliveryError: HTTP 410"
        replayed = await http.post("/deliveries/J-PARKED:1:ehr:webhook/replay")
        assert replayed.json() == {"key": "J-PARKED:1:ehr:webhook", "replay": 1}
        again = await http.post("/deliveries/J-PARKED:1:ehr:webhook/replay")
        assert again.status_code == 409
        assert (await http.get("/deliveries", params={"status": "dead"})).json()["items"] == []
        pending = (await http.get("/deliveries", params={"status": "pending"})).json()["items"]
        assert [d["replays"] for d in pending] == [1]
        assert (await http.get("/deliveries", params={"status": "lost"})).status_code == 422
