"""The live feed in Chromium after its stream drops: each notification is shown once.

Streams end after two seconds here (the server closes them, as a proxy or a restart would), and
one reconnection is refused outright (a route abort); the page resumes after the last
notification it holds and never shows one twice.
"""

import asyncio
from collections.abc import Callable

import pytest
from playwright.async_api import Page, Request, Route, async_playwright, expect

from api.routers import feed as feed_module
from models.commands import ReportEvent
from models.policy import ClinicalEventKind
from tests.browser.test_dashboard import CHROMIUM, FLAGS, Site, _login, _start_journey, site

__all__ = ["site"]  # the module-scoped served dashboard

JOURNEY = "J-UI-RESUME"


async def _shown_ids(page: Page) -> list[str]:
    ids: list[str] = await page.locator("#feed li").evaluate_all(
        "els => els.map(e => e.dataset.id)"
    )
    return ids


async def _stored_ids(site: Site) -> set[str]:
    return {str(n.id) for n in await site.services.queries.feed("th-chen", limit=500)}


async def _until(condition: Callable[[], bool], what: str) -> None:
    """Bounded polling for a condition."""
    for _ in range(300):
        if condition():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"never happened: {what}")


async def test_the_feed_shows_each_notification_once_after_its_stream_drops(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(feed_module, "STREAM_MAX_SECONDS", 2.0)
    await _start_journey(site, JOURNEY)
    journeys = site.services.journeys
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = await browser.new_page(viewport={"width": 1366, "height": 900})
        streams: list[Request] = []
        page.on("request", lambda r: streams.append(r) if "/feed/stream" in r.url else None)
        await _login(page, site)
        await page.goto(f"{site.url}/ui/feed")
        await expect(page.locator("#live-status")).to_have_text("live")

        await journeys.send(
            JOURNEY, ReportEvent(kind=ClinicalEventKind.CRISIS, reported_by="cm-diaz")
        )
        await expect(page.locator("#feed li.fresh").first).to_contain_text("Crisis reported")
        opened = len(streams)
        await _until(lambda: len(streams) > opened, "the closed stream reconnected")

        # The next reconnection fails outright; the page still comes back.
        aborted: list[str] = []

        async def abort_once(route: Route) -> None:
            if not aborted:
                aborted.append(route.request.url)
                await route.abort()
            else:
                await route.continue_()

        await page.route("**/feed/stream**", abort_once)
        await _until(lambda: bool(aborted), "a reconnection was refused")
        refused = len(streams)
        await _until(lambda: len(streams) > refused, "the page reconnected after the refusal")

        missed = ReportEvent(kind=ClinicalEventKind.MISSED_SESSION, reported_by="cm-diaz")
        await journeys.send(JOURNEY, missed)
        stored = await _stored_ids(site)
        shown = await _shown_ids(page)
        for _ in range(300):  # until every stored notification is on the page (bounded)
            if stored <= set(shown):
                break
            await asyncio.sleep(0.1)
            shown = await _shown_ids(page)
        await browser.close()
    assert len(shown) == len(set(shown)), sorted(shown)
    assert set(shown) == stored
