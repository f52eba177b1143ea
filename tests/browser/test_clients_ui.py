"""Client records in the dashboard, in real headless Chromium: names on the board for staff
who may see the client, the client page (record, episodes, consents, disclosures), exact-match
search, revoking a consent, and a client outside one's teams answering as a missing one."""

import asyncio
from datetime import UTC, date, datetime, timedelta

from playwright.async_api import Page, async_playwright, expect

from models.client import ClientRecord, ExternalIdentifier, LegalName, Payer
from models.commands import ReportEvent, StartJourney
from models.consent import ConsentTerms, DataClass, Purpose, RecipientKind
from models.policy import ClinicalEventKind
from models.staff import StaffRole
from service.ids import new_client_id
from tests.browser.test_dashboard import ARTIFACTS, CHROMIUM, FLAGS, Site, _login, site
from tests.builders import policy, team

__all__ = ["site"]  # the module-scoped served dashboard

RECORD = ClientRecord(
    legal_name=LegalName(given="Maria", family="Quintero"),
    preferred_name="Marisol",
    date_of_birth=date(1988, 4, 12),
    identifiers=[ExternalIdentifier(system="ehr-mrn", value="MRN-55501")],
    phone="+1 555 0100",
    payer=Payer(name="Medicaid", member_id="MCD-778", approved_loc="3.5"),
)
TODAY = datetime.now(UTC).date()


def _terms(recipient: str) -> ConsentTerms:
    return ConsentTerms(
        recipient=recipient, recipient_kind=RecipientKind.ORGANISATION,
        purpose=Purpose.TREATMENT, data=[DataClass.EPISODES], effective_from=TODAY,
        expires_on=TODAY + timedelta(days=365), signed_at=datetime.now(UTC),
    )  # fmt: skip


async def _client_with_journeys(site: Site) -> str:
    """A client with two episodes (the first in crisis, so it has urgent work due), a consent
    and a disclosure under it, and a second consent to revoke."""
    services = site.services
    client = new_client_id()
    await services.clients.add(client, RECORD)
    for journey in ("J-CL-1", "J-CL-2"):
        await services.journeys.start(
            StartJourney(journey_id=journey, care_team=team(), started_by="ops-1",
                         policy=policy(), client_id=client)
        )  # fmt: skip
    await services.journeys.send(
        "J-CL-1", ReportEvent(kind=ClinicalEventKind.CRISIS, reported_by="rn-baker")
    )
    for _ in range(100):  # both starts reach the read model shortly (bounded)
        if len(await services.clients.journeys(client)) == 2:
            break
        await asyncio.sleep(0.05)
    consents = services.consents
    await consents.add(client, _terms("Riverside Primary Care"), "th-chen")
    granted = await consents.covering(
        client, "Riverside Primary Care", Purpose.TREATMENT, [DataClass.EPISODES]
    )
    await consents.disclose(
        client, granted, [DataClass.EPISODES], "FHIR Bundle, 3 entries", "fhir_export", "th-chen"
    )
    await consents.add(client, _terms("County Probation"), "th-chen")
    return client


async def _board_names(page: Page, site: Site) -> None:
    """The board shows the client's preferred name, linking to the client page, in the
    journey list and in the work queue."""
    await page.goto(f"{site.url}/")
    journeys = page.locator("tr", has=page.get_by_role("link", name="J-CL-1", exact=True))
    await expect(journeys.get_by_role("link", name="Marisol").first).to_be_visible()
    queue = page.locator("section[aria-label^='Due'], section[aria-label='Past due']")
    await expect(queue.get_by_role("link", name="Marisol").first).to_be_visible()
    href = await page.get_by_test_id("client-name").first.get_attribute("href")
    assert href is not None
    assert href.startswith("/ui/clients/C-")


async def test_client_record_in_the_dashboard(site: Site) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    services = site.services
    ops = await services.access.add_staff("ops-cl", StaffRole.OPERATIONS)
    outsider = await services.access.add_staff("th-out", StaffRole.CLINICIAN)
    client = await _client_with_journeys(site)
    consents = await services.consents.consents(client)
    to_revoke = next(c for c in consents if c.recipient == "County Probation")
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = await browser.new_page(viewport={"width": 1366, "height": 900})
        # The care team: the name on the board, the client page, search, revoke.
        await _login(page, site)
        await _board_names(page, site)
        await page.screenshot(path=str(ARTIFACTS / "board-clients.png"), full_page=True)
        await page.get_by_test_id("client-name").first.click()
        await expect(page).to_have_url(f"{site.url}/ui/clients/{client}")
        await expect(page.get_by_test_id("legal-name")).to_have_text("Maria Quintero")
        await expect(page.get_by_test_id("dob")).to_have_text("1988-04-12")
        await expect(page.get_by_test_id("identifiers")).to_contain_text("MRN-55501")
        await expect(page.get_by_test_id("payer")).to_contain_text("Medicaid")
        await expect(page.get_by_test_id("court")).to_have_text("no")
        episodes = page.get_by_role("region", name="Episodes")
        for journey in ("J-CL-1", "J-CL-2"):
            await expect(episodes.get_by_role("link", name=journey)).to_be_visible()
        listed = page.get_by_role("region", name="Consents")
        await expect(listed).to_contain_text("Riverside Primary Care")
        await expect(listed).to_contain_text("County Probation")
        disclosed = page.get_by_role("region", name="Disclosures")
        await expect(disclosed).to_contain_text("FHIR Bundle, 3 entries")
        await expect(disclosed).to_contain_text("Riverside Primary Care")
        await page.screenshot(path=str(ARTIFACTS / "client.png"), full_page=True)

        await (
            page.get_by_role("form", name=f"Revoke {to_revoke.consent_id}")
            .get_by_role("button")
            .click()
        )
        await expect(page.get_by_role("status")).to_contain_text("revoked")
        row = page.get_by_test_id(f"consent-{to_revoke.consent_id}")
        await expect(row).to_contain_text("revoked")
        await expect(row.get_by_role("button")).to_have_count(0)

        # The journey page names the client and links the other episode.
        await episodes.get_by_role("link", name="J-CL-1").click()
        await expect(page.get_by_test_id("client-name")).to_have_text("Marisol")
        await expect(page.get_by_test_id("other-episodes")).to_contain_text("J-CL-2")

        for query, count in (("name=maria+quintero", 1), ("mrn=MRN-55501", 1),
                             ("name=Quintero", 0), ("mrn=MRN-555", 0)):  # fmt: skip
            await page.goto(f"{site.url}/ui/clients?{query}")
            found = page.get_by_role("region", name="Clients found")
            await expect(found.get_by_role("link", name=client)).to_have_count(count)
        await page.goto(f"{site.url}/")
        search = page.get_by_role("search", name="Find a client")
        await search.locator("input[name=name]").fill("Marisol Quintero")
        await search.get_by_role("button").click()
        await (
            page.get_by_role("region", name="Clients found")
            .get_by_role("link", name=client)
            .click()
        )
        await expect(page.get_by_test_id("legal-name")).to_have_text("Maria Quintero")
        await page.context.clear_cookies()

        # Operations see every client.
        await _login(page, site, ops, "ops-cl")
        await _board_names(page, site)
        await page.context.clear_cookies()

        # A clinician outside the team sees neither the journey nor the name, and the client
        # answers exactly as a missing one does.
        await _login(page, site, outsider, "th-out")
        assert "Marisol" not in await page.content()
        assert "J-CL-1" not in await page.content()
        bodies = []
        for target in (client, "C-ZZZZZZZZZZ"):
            answer = await page.goto(f"{site.url}/ui/clients/{target}")
            assert answer is not None
            assert answer.status == 404
            await expect(page.get_by_role("alert")).to_have_text("Client not found.")
            bodies.append(await page.locator("main").inner_html())
            assert "Maria" not in await page.content()
        assert bodies[0] == bodies[1]
        await page.goto(f"{site.url}/ui/clients?mrn=MRN-55501")
        found = page.get_by_role("region", name="Clients found")
        await expect(found.get_by_test_id("none-found")).to_be_visible()
        await browser.close()

    after = {c.consent_id: c for c in await services.consents.consents(client)}
    revoked = after[to_revoke.consent_id]
    assert (revoked.revoked_at is not None, revoked.revoked_by) == (True, "th-chen")
    entries = await services.access.audit_log(limit=200)
    action = "POST /ui/clients/{client_id}/consents/{consent_id}/revoke"
    assert any(
        (e.actor, e.action, e.outcome) == ("th-chen", action, "ok")
        and e.detail == f"client {client}; consent {to_revoke.consent_id}"
        for e in entries
    )
    pages = {(e.actor, e.action) for e in entries if client in (e.detail or "")}
    assert ("th-chen", "GET /ui/clients/{client_id}") in pages
    assert ("th-out", "GET /ui/clients/{client_id}") in pages
    assert ("th-chen", "GET /ui/clients") in pages
    for word in ("Maria", "Marisol", "Quintero", "1988", "Medicaid", "MRN-55501"):
        assert all(word not in (e.detail or "") for e in entries)
