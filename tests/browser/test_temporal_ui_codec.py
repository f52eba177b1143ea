"""The Temporal UI reads decrypted histories through the API's codec endpoint, in real Chromium.

A real embedded dev server whose UI is started with ``--ui-codec-endpoint`` pointing at the API
served on another port of 127.0.0.1 (another origin, the same site, so the dashboard's
SameSite=Strict session cookie goes along), a journey started through the encrypting client:
an admin logged in to the dashboard who turns on the UI's "Include cross-origin credentials"
codec setting sees the journey's input decrypted; a browser without a session sees only
ciphertext, and the codec endpoint answered it 401.
"""

import asyncio
import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from playwright.async_api import BrowserContext, Page, async_playwright, expect
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.serve import EmbeddedServer
from api.services import ApiServices
from models.commands import StartJourney
from models.staff import StaffRole
from runtime.devserver import EmbeddedTemporal
from tests.browser.test_dashboard import ARTIFACTS, CHROMIUM, FLAGS
from tests.builders import policy, team
from tests.conftest import encrypted_converter
from tests.portpick import free_port
from tests.stack import api_services
from workflows.temporal_policy import journey_workflow_id

JOURNEY = "J-UI-CODEC"
# A value only the journey's (encrypted) input holds: a care-team member of the start.
DECODED = '"member_id": "ps-evans"'
WAIT_MS = 60_000  # the UI loads the history, then decodes it: bounded, generous on 2 cores


@dataclass
class Stack:
    """The API and the Temporal UI, each on its own port, and who may log in."""

    api: str
    ui: str
    history: str
    admin_token: str
    ciphertext: str
    services: ApiServices


@asynccontextmanager
async def _serve(app: FastAPI, port: int) -> AsyncIterator[None]:
    server = EmbeddedServer(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    )
    serving = asyncio.create_task(server.serve())
    for _ in range(200):  # uvicorn exposes only a flag; bounded wait for it
        if server.started:
            break
        await asyncio.sleep(0.05)
    try:
        yield
    finally:
        server.should_exit = True
        await serving


async def _ciphertext(address: str) -> str:
    """The start's input as a client without the codec (and the UI without one) sees it."""
    raw = await Client.connect(address)
    history = await raw.get_workflow_handle(journey_workflow_id(JOURNEY)).fetch_history()
    attributes = history.events[0].workflow_execution_started_event_attributes
    return base64.b64encode(attributes.input.payloads[0].data).decode()


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    """Embedded Temporal with its UI's codec endpoint at the API, a worker, the API served."""
    api_port, ui_port = free_port(), free_port()
    api, ui = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{ui_port}"
    temporal = EmbeddedTemporal(
        tmp_path / "temporal", free_port(), ui_port, codec_endpoint=f"{api}/codec"
    )
    async with temporal:
        client = await Client.connect(temporal.address, data_converter=encrypted_converter())
        env = WorkflowEnvironment.from_client(client)
        async with api_services(env, tmp_path) as built:
            codec = client.data_converter.payload_codec
            services = replace(built, codec=codec, temporal_ui_origin=ui)
            token = await services.access.add_staff("admin-1", StaffRole.ADMIN)
            await services.journeys.start(
                StartJourney(
                    journey_id=JOURNEY, care_team=team(), started_by="admin-1", policy=policy()
                )
            )
            handle = client.get_workflow_handle(journey_workflow_id(JOURNEY))
            run_id = (await handle.describe()).run_id
            history = f"{ui}/namespaces/default/workflows/{handle.id}/{run_id}/history"
            async with _serve(create_app(services), api_port):
                cipher = await _ciphertext(temporal.address)
                yield Stack(api, ui, history, token, cipher, services)


async def _log_in(page: Page, stack: Stack) -> None:
    await page.goto(f"{stack.api}/login")
    await page.fill("input[name=staff_id]", "admin-1")
    await page.fill("input[name=token]", stack.admin_token)
    await page.click("button[type=submit]")
    await expect(page).to_have_url(f"{stack.api}/")


async def _include_credentials(page: Page, stack: Stack) -> None:
    """The UI's codec settings: this browser's endpoint, with cross-origin credentials."""
    # The codec icon of the top bar (its test id says the codec's last status).
    await page.locator("[data-testid^=data-encoder-status]").first.click(timeout=WAIT_MS)
    await expect(page.get_by_test_id("data-encoder-title")).to_be_visible()
    await page.get_by_test_id("use-local-endpoint-input").check()
    await page.locator("#data-encoder-endpoint-input").fill(f"{stack.api}/codec")
    await page.get_by_test_id("data-encoder-include-credentials").check()
    await page.get_by_role("button", name="Apply").click()
    await expect(page.get_by_test_id("data-encoder-title")).to_be_hidden()


async def _history(context: BrowserContext, stack: Stack) -> tuple[Page, list[int]]:
    """The journey's history page with the codec settings applied, and the codec's answers."""
    page = await context.new_page()
    answers: list[int] = []
    page.on("response", lambda r: answers.append(r.status) if "/codec/" in r.url else None)
    await page.goto(stack.history)
    await _include_credentials(page, stack)
    # Saved in this browser: the page decodes with them from now on.
    await page.reload()
    return page, answers


async def test_an_admin_reads_the_decrypted_history_and_no_session_reads_nothing(
    stack: Stack,
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            admin = await browser.new_context()
            page = await admin.new_page()
            await _log_in(page, stack)
            shown, decoded = await _history(admin, stack)
            await expect(shown.get_by_text(DECODED).first).to_be_visible(timeout=WAIT_MS)
            await expect(shown.get_by_text(stack.ciphertext[:24])).to_have_count(0)
            await shown.screenshot(path=str(ARTIFACTS / "temporal-ui-decoded.png"))
            # Decrypted by the endpoint for this session (the first load, without credentials,
            # was answered 401 like any call without a session).
            assert 200 in decoded

            stranger = await browser.new_context()
            hidden, answers = await _history(stranger, stack)
            await expect(hidden.get_by_text(stack.ciphertext[:24]).first).to_be_visible(
                timeout=WAIT_MS
            )
            await expect(hidden.get_by_test_id("data-encoder-status-error")).to_be_visible()
            await expect(hidden.get_by_text(DECODED)).to_have_count(0)
            await hidden.screenshot(path=str(ARTIFACTS / "temporal-ui-no-session.png"))
            assert 401 in answers
            assert 200 not in answers
        finally:
            await browser.close()
    decodes = [
        e
        for e in await stack.services.access.audit_log(limit=1000)
        if e.action == "POST /codec/decode"
    ]
    assert decodes
    assert {e.actor for e in decodes} == {"admin-1"}
    assert all(e.detail is not None and f"origin {stack.ui}" in e.detail for e in decodes)
    assert all("namespace default" in (e.detail or "") for e in decodes)
    assert all(stack.ciphertext[:24] not in (e.detail or "") for e in decodes)
