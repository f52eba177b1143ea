"""The dashboard in real headless Chromium: log in, board, a journey, a decision, a live feed."""

import asyncio
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from playwright.async_api import Page, async_playwright, expect
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.services import ApiServices
from models.clinical import AssessmentKind
from models.commands import (
    DecideTransition,
    RecordAssessment,
    RecordInstrument,
    ReportEvent,
    RequestReassessment,
    StartJourney,
)
from models.journey import Phase, Priority
from models.policy import ClinicalEventKind
from models.staff import StaffRole
from models.work import TaskStatus
from service.days import Due
from service.live import live_view
from tests.builders import policy, ratings, team
from tests.clock import midday_zone, night_pins, pinned
from tests.delivery.rows import park_one
from tests.serving import served
from tests.stack import api_services

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync",
]  # fmt: skip


@dataclass
class Site:
    """A served dashboard with a therapist's token (and a physician's) and its services."""

    url: str
    token: str
    services: ApiServices
    app: FastAPI
    # Withdrawal management is decided by a physician or a nurse (decision authority).
    physician_token: str = ""


@pytest.fixture(scope="module")
async def site(
    dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Site]:
    """The app served by uvicorn on 127.0.0.1 with a worker."""
    async with api_services(dev_env, tmp_path_factory.mktemp("ui")) as services:
        token = await services.access.add_staff("th-chen", StaffRole.CLINICIAN)
        physician = await services.access.add_staff("dr-ames", StaffRole.CLINICIAN)
        app = create_app(services)
        async with served(app) as base:
            yield Site(base, token, services, app, physician)


async def _start_journey(site: Site, journey_id: str) -> None:
    await site.services.journeys.start(
        StartJourney(journey_id=journey_id, care_team=team(), started_by="ops-1", policy=policy())
    )
    for _ in range(100):  # the first projection makes it visible on the board (bounded)
        if await site.services.queries.get_timeline(journey_id):
            return
        await asyncio.sleep(0.05)


async def _seed_board(site: Site) -> None:
    """A few more journeys so the board has something to show: one in crisis, one in care."""
    journeys = site.services.journeys
    await _start_journey(site, "J-UI-CRISIS")
    await journeys.send(
        "J-UI-CRISIS", ReportEvent(kind=ClinicalEventKind.CRISIS, reported_by="rn-baker")
    )
    await _start_journey(site, "J-UI-WM")
    result = await journeys.send(
        "J-UI-WM",
        RecordAssessment(
            assessment_id="J-UI-WM.A1",
            kind=AssessmentKind.COMPREHENSIVE,
            dimensions=ratings(d1=3, d5=3),
            assessed_by="th-chen",
        ),
    )
    assert result.reassessment_id is not None
    await journeys.send(
        "J-UI-WM",
        DecideTransition(reassessment_id=result.reassessment_id, decided_by="dr-ames", accept=True),
    )


async def _crisis_due(site: Site) -> datetime:
    """When the crisis reassessment of J-UI-CRISIS is due (4 h after it was reported)."""
    for _ in range(100):  # the crisis reaches the read model shortly (bounded)
        timeline = await site.services.queries.get_timeline("J-UI-CRISIS")
        if timeline and any(t.priority is Priority.URGENT for t in timeline.tasks):
            return next(t.due_at for t in timeline.tasks if t.priority is Priority.URGENT)
        await asyncio.sleep(0.05)
    raise AssertionError("the crisis never reached the read model")


async def _crisis_is_under_its_day_on_the_board(page: Page, site: Site) -> None:
    """The board at 00:30 and 23:30, whatever the hour of the run.

    The clock is pinned in a zone where the crisis work falls at midday, so it is due today,
    due tomorrow or past due by design, not by the wall clock.
    """
    due = await _crisis_due(site)
    zone = midday_zone(due)
    titles = {Due.PAST_DUE: "Past due", Due.TODAY: "Due today", Due.TOMORROW: "Due tomorrow"}
    for at, bucket in night_pins(due, zone):
        with pinned(site.app, at, zone):
            await page.goto(f"{site.url}/")
            for window, title in titles.items():
                region = page.get_by_role("region", name=title)
                crisis = region.get_by_role("link", name="J-UI-CRISIS")
                await expect(crisis).to_have_count(1 if window is bucket else 0)
            here = page.get_by_role("region", name=titles[bucket])
            await expect(here).to_contain_text("urgent")
            # Due times are shown on the program's clock: the crisis is due at midday there.
            await expect(here).to_contain_text(due.astimezone(zone).strftime("%b %d 12:"))
            await expect(page.get_by_text(f"days in {zone.key}")).to_be_visible()


async def _login(page: Page, site: Site, token: str | None = None, staff_id: str = "") -> None:
    staff_id = staff_id or ("dr-ames" if token == site.physician_token else "th-chen")
    await page.goto(f"{site.url}/")
    await expect(page).to_have_url(f"{site.url}/login")
    await page.fill("input[name=staff_id]", staff_id)
    await page.fill("input[name=token]", "wrong")
    await page.click("button[type=submit]")
    await expect(page.get_by_role("alert")).to_contain_text("not valid")
    await page.fill("input[name=staff_id]", staff_id)
    await page.fill("input[name=token]", token or site.token)
    await page.click("button[type=submit]")
    await expect(page).to_have_url(f"{site.url}/")


async def test_staff_follow_and_change_a_journey_in_the_browser(site: Site) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    await _start_journey(site, "J-UI-1")
    await _seed_board(site)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = await browser.new_page(viewport={"width": 1366, "height": 900})
        await _login(page, site, site.physician_token)  # the decision enters withdrawal care
        await expect(page.get_by_role("heading", name="Board")).to_be_visible()
        await expect(page.get_by_role("link", name="J-UI-1").first).to_be_visible()
        await _crisis_is_under_its_day_on_the_board(page, site)
        await page.screenshot(path=str(ARTIFACTS / "board.png"), full_page=True)

        await page.get_by_role("link", name="J-UI-1").first.click()
        await expect(page.get_by_test_id("phase")).to_have_text("intake")
        form = page.get_by_role("form", name="Record assessment")
        for code, value in {"d1": "3", "d2": "2", "d5": "3", "d6": "3"}.items():
            await form.locator(f"select[name={code}]").select_option(value)
        await form.get_by_role("button").click()
        await expect(page.get_by_role("status")).to_contain_text("Assessment recorded")
        await expect(page.get_by_test_id("recommendation")).to_contain_text("3.7-WM")

        decision = page.get_by_role("form", name="Decide")
        await decision.locator("select[name=choice]").select_option("accept")
        await decision.get_by_role("button").click()
        await expect(page.get_by_role("status")).to_contain_text("Decision recorded")
        await expect(page.get_by_test_id("phase")).to_have_text("withdrawal_management")
        await expect(page.get_by_test_id("loc")).to_have_text("3.7-WM")
        measure = page.get_by_role("form", name="Record instrument")
        await measure.locator("select[name=code]").select_option("PHQ-9")
        await measure.locator("input[name=answers]").fill("1,1,1,1,1,1,1,1,1")
        await measure.get_by_role("button").click()
        await expect(page.get_by_role("status")).to_contain_text(
            "PHQ-9 scored 9 (mild, flags: self_harm_risk)"
        )
        await expect(page.get_by_role("region", name="Tasks")).to_contain_text("safety follow up")
        # 3.7-WM: the initial plan is due within 24 h and still lacks its signatures.
        await expect(page.get_by_test_id("plan-review")).to_contain_text("initial plan")
        await expect(page.get_by_test_id("plan-status")).to_have_text("none yet")
        trends = page.get_by_role("region", name="Instrument trends")
        await expect(trends).to_contain_text("PHQ-9")
        await expect(page.get_by_test_id("days-in-recovery")).to_contain_text("0")
        await page.screenshot(path=str(ARTIFACTS / "journey.png"), full_page=True)

        # A second request while one is open is refused, says why, and changes nothing.
        for expected in ("Reassessment opened", "already open"):
            await page.locator("form[action$='/reassess'] input[name=reason]").fill("second look")
            await page.locator("form[action$='/reassess'] button").click()
            await expect(page.locator(".flash")).to_contain_text(expected)
        await expect(page.get_by_role("alert")).to_contain_text("Refused")
        await expect(page.get_by_test_id("phase")).to_have_text("withdrawal_management")
        await browser.close()


async def _to_aftercare(site: Site, journey_id: str) -> None:
    journeys = site.services.journeys
    await _start_journey(site, journey_id)
    for dims, reason in (({"d4": 2}, None), ({}, "step down")):
        if reason:
            await journeys.send(
                journey_id, RequestReassessment(requested_by="th-chen", reason=reason)
            )
        result = await journeys.send(
            journey_id,
            RecordAssessment(
                assessment_id=f"{journey_id}.A{len(dims)}{reason or ''}".replace(" ", "-"),
                kind=AssessmentKind.REASSESSMENT if reason else AssessmentKind.COMPREHENSIVE,
                dimensions=ratings(**dims),
                assessed_by="th-chen",
            ),
        )
        assert result.reassessment_id is not None
        await journeys.send(
            journey_id,
            DecideTransition(
                reassessment_id=result.reassessment_id, decided_by="th-chen", accept=True
            ),
        )


async def test_aftercare_check_in_form_refuses_an_early_check_in_and_changes_nothing(
    site: Site,
) -> None:
    await _to_aftercare(site, "J-UI-AFTER")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = await browser.new_page()
        await _login(page, site)
        await page.goto(f"{site.url}/ui/journeys/J-UI-AFTER")
        await expect(page.get_by_test_id("phase")).to_have_text("aftercare")
        form = page.get_by_role("form", name="Aftercare check-in")
        await form.get_by_label("peer support").check()
        await form.get_by_label("Substance use reported").check()
        await form.get_by_role("button").click()
        await expect(page.get_by_role("alert")).to_contain_text("no check-in is due")
        await browser.close()
    state = await site.services.journeys.state("J-UI-AFTER")
    assert state.active_reassessment is None  # the refused use report opened nothing
    assert state.aftercare is not None
    assert state.aftercare.supports_attended == {}


async def test_operations_replay_a_dead_letter_from_the_dashboard(site: Site) -> None:
    await park_one(site.services.deliveries.sessions, "J-PARKED:2:ehr:webhook")
    ops_token = await site.services.access.add_staff("ops-ui", StaffRole.OPERATIONS)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = await browser.new_page()
        await _login(page, site, ops_token, "ops-ui")
        await page.get_by_role("link", name="Dead letters").click()
        letters = page.get_by_role("region", name="Dead letters")
        await expect(letters).to_contain_text("J-PARKED:2:ehr:webhook")
        await expect(letters).to_contain_text("HTTP 410")
        await page.screenshot(path=str(ARTIFACTS / "dead-letters.png"), full_page=True)
        await letters.get_by_role("button", name="Replay").click()
        await expect(page.get_by_role("status")).to_contain_text("Replay 1 queued")
        await expect(letters).to_contain_text("Nothing is parked")
        await browser.close()
    row = await site.services.deliveries.get("J-PARKED:2:ehr:webhook")
    assert row is not None
    assert (row.status, row.replays) == ("pending", 1)


async def test_feed_updates_live_without_a_reload(site: Site) -> None:
    await _start_journey(site, "J-UI-2")
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = await browser.new_page(viewport={"width": 1366, "height": 900})
        # The content security policy lets the page's own script and event stream run.
        blocked: list[str] = []
        page.on(
            "console", lambda m: blocked.append(m.text) if "Security Policy" in m.text else None
        )
        await _login(page, site)
        await page.goto(f"{site.url}/ui/feed")
        await expect(page.locator("#live-status")).to_have_text("live")
        before = await page.locator("#feed li").count()
        marker = await page.evaluate("() => (window.__loaded = performance.timeOrigin)")
        await site.services.journeys.send(
            "J-UI-2", ReportEvent(kind=ClinicalEventKind.CRISIS, reported_by="cm-diaz")
        )
        fresh = page.locator("#feed li.fresh")
        await expect(fresh.first).to_contain_text("Crisis reported", timeout=15_000)
        assert await page.locator("#feed li").count() > before
        # Same document: the page was not reloaded.
        assert await page.evaluate("() => window.__loaded") == marker
        await page.screenshot(path=str(ARTIFACTS / "feed.png"), full_page=True)
        await browser.close()
    assert blocked == []


async def _assessed_for_withdrawal(site: Site, journey_id: str) -> str:
    """A journey whose open reassessment recommends 3.7-WM; returns the reassessment id."""
    await _start_journey(site, journey_id)
    result = await site.services.journeys.send(
        journey_id,
        RecordAssessment(assessment_id=f"{journey_id}.A1", kind=AssessmentKind.COMPREHENSIVE,
                         dimensions=ratings(d1=3, d2=2), assessed_by="th-chen"),
    )  # fmt: skip
    assert result.recommendation is not None
    assert result.recommendation.loc_code == "3.7-WM"
    assert result.reassessment_id is not None
    return result.reassessment_id


async def _forge_decision(page: Page, site: Site, journey_id: str, reassessment_id: str) -> int:
    """Post the decision form by hand (as a tampered page would, with the page's own CSRF
    token); the answer's status."""
    script = """([action, rid]) => {
        const form = document.createElement('form');
        form.method = 'post';
        form.action = action;
        const csrf = document.querySelector('input[name=csrf]')?.value ?? '';
        const fields = [['reassessment_id', rid], ['choice', 'accept'], ['csrf', csrf]];
        for (const [name, value] of fields) {
            const input = document.createElement('input');
            input.type = 'hidden'; input.name = name; input.value = value;
            form.appendChild(input);
        }
        document.body.appendChild(form);
        form.submit();
    }"""
    action = f"{site.url}/ui/journeys/{journey_id}/decide"
    async with page.expect_navigation() as navigation:
        await page.evaluate(script, [action, reassessment_id])
    response = await navigation.value
    assert response is not None
    return response.status


async def test_clinical_forms_are_offered_and_taken_only_from_who_may_send_them(
    site: Site,
) -> None:
    journey = "J-UI-AUTH"
    rid = await _assessed_for_withdrawal(site, journey)
    ops_token = await site.services.access.add_staff("ops-auth", StaffRole.OPERATIONS)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = await browser.new_page()
        # Operations: the journey is visible, its clinical forms are not; a forged post is 403.
        await _login(page, site, ops_token, "ops-auth")
        await page.goto(f"{site.url}/ui/journeys/{journey}")
        await expect(page.get_by_test_id("recommendation")).to_contain_text("3.7-WM")
        for form in ("Decide", "Record instrument", "Record assessment"):
            await expect(page.get_by_role("form", name=form)).to_have_count(0)
        await expect(page.get_by_role("button", name="Discharge")).to_have_count(0)
        await expect(page.get_by_test_id("clinical-only")).to_be_visible()
        await expect(page.get_by_role("button", name="Report")).to_be_visible()
        assert await _forge_decision(page, site, journey, rid) == 403
        await expect(page.get_by_role("alert")).to_contain_text(
            "operations accounts may not decide a placement"
        )
        await page.context.clear_cookies()
        # A therapist decides placements, but not withdrawal management: the form offers no
        # withdrawal level, and accepting the 3.7-WM recommendation is refused by the journey.
        await _login(page, site)
        await page.goto(f"{site.url}/ui/journeys/{journey}")
        decision = page.get_by_role("form", name="Decide")
        await expect(decision.locator("select[name=loc_code]")).not_to_contain_text("WM")
        await expect(decision.locator("select[name=phase]")).not_to_contain_text("withdrawal")
        await decision.get_by_role("button").click()
        await expect(page.get_by_role("alert")).to_contain_text(
            "may not decide a withdrawal-management placement"
        )
        await page.screenshot(path=str(ARTIFACTS / "refused.png"), full_page=True)
        await browser.close()
    state = await site.services.journeys.state(journey)
    assert (state.phase, state.active_reassessment is not None) == (Phase.INTAKE, True)
    entries = await site.services.access.audit_log(limit=10, journey_id=journey)
    refused = {(e.actor, e.action, e.outcome) for e in entries}
    assert (
        "ops-auth",
        "POST /ui/journeys/{journey_id}/decide",
        "clinical_role_required",
    ) in refused
    assert ("th-chen", "POST /ui/journeys/{journey_id}/decide", "not_authorized") in refused


async def test_discharge_form_asks_a_disposition_for_each_open_urgent_item(site: Site) -> None:
    await _start_journey(site, "J-UI-DISPOSE")
    journeys = site.services.journeys
    await journeys.send(
        "J-UI-DISPOSE", RecordAssessment(dimensions=ratings(d5=3, d6=3), assessed_by="th-chen")
    )
    active = (await journeys.state("J-UI-DISPOSE")).active_reassessment
    assert active is not None
    await journeys.send(
        "J-UI-DISPOSE",
        DecideTransition(reassessment_id=active.reassessment_id, decided_by="dr-ames", accept=True),
    )
    await journeys.send(
        "J-UI-DISPOSE", RecordInstrument(code="PHQ-9", answers=[0] * 8 + [2], recorded_by="th-chen")
    )
    (item,) = live_view(await journeys.state("J-UI-DISPOSE")).urgent_work
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = await browser.new_page()
        await _login(page, site)
        await page.goto(f"{site.url}/ui/journeys/J-UI-DISPOSE")
        disposition = page.locator(f"fieldset.disposition[data-item='{item}']")
        await expect(disposition).to_contain_text(f"Open urgent work {item}")
        # Without a disposition the journey refuses, and nothing changes.
        await page.get_by_role("button", name="Discharge").click()
        await expect(page.get_by_role("alert")).to_contain_text("open urgent work needs")
        assert (await journeys.state("J-UI-DISPOSE")).phase is Phase.TREATMENT
        await disposition.locator("select").select_option("rn-baker")
        await page.get_by_role("button", name="Discharge").click()
        await expect(page.get_by_test_id("phase")).to_have_text("discharged")
        await browser.close()
    state = await journeys.state("J-UI-DISPOSE")
    handed = next(t for t in state.tasks if t.task_id == item)
    assert (handed.status, handed.owner) == (TaskStatus.OPEN, "rn-baker")


async def test_a_same_site_page_cannot_post_a_dashboard_form(site: Site) -> None:
    """Another site on the same host (a same-site page: the session cookie goes along) posts
    a form to the dashboard: without the session's CSRF token it is refused, nothing changes."""
    await _start_journey(site, "J-UI-CSRF")
    lure = FastAPI()
    action = f"{site.url}/ui/journeys/J-UI-CSRF/event"
    before = (await site.services.journeys.state("J-UI-CSRF")).model_dump()

    @lure.get("/")
    async def page_with_a_form() -> HTMLResponse:
        return HTMLResponse(
            f'<form id="f" method="post" action="{action}">'
            '<input name="kind" value="missed_session"></form>'
            '<script>document.getElementById("f").submit()</script>'
        )

    async with served(lure) as other, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = await browser.new_page()
        await _login(page, site)
        async with page.expect_response(lambda r: r.url == action) as posted:
            await page.goto(other)
        assert (await posted.value).status == 403
        await expect(page.get_by_role("alert")).to_contain_text("did not come from your dashboard")
        await browser.close()
    assert (await site.services.journeys.state("J-UI-CSRF")).model_dump() == before
