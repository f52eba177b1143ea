"""Dashboard sessions: server-side, expiring, revoked at logout; the login is rate limited;
every dashboard form carries the session's CSRF token."""

from api.deps import SESSION_COOKIE
from tests.api.conftest import ApiStack, open_as
from tests.api.forms import browser, csrf_of, login


async def test_logout_revokes_the_session_and_the_cookie_is_not_the_token(api: ApiStack) -> None:
    async with browser(api.app, "10.0.1.1") as http:
        answer = await login(http, "th-chen", api.tokens["th-chen"])
        assert (answer.status_code, answer.headers["location"]) == (303, "/")
        cookie = http.cookies[SESSION_COOKIE]
        board = await http.get("/")
        assert board.status_code == 200
        out = await http.post("/logout", data={"csrf": csrf_of(board)})
        assert (out.status_code, out.headers["location"]) == (303, "/login")
    # The cookie kept from before the logout opens nothing: not a page, not the API.
    async with browser(api.app, "10.0.1.1") as replay:
        replay.cookies.set(SESSION_COOKIE, cookie)
        page = await replay.get("/")
        assert (page.status_code, page.headers["location"]) == (303, "/login")
        assert (await replay.get("/me")).status_code == 401
    assert cookie != api.tokens["th-chen"]


async def test_the_session_cookie_is_httponly_strict_and_secure_over_https(api: ApiStack) -> None:
    async with browser(api.app, "10.0.1.2") as http:
        answer = await login(http, "th-chen", api.tokens["th-chen"])
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert "secure" not in cookie
    async with browser(api.app, "10.0.1.2", base="https://api") as http:
        answer = await login(http, "th-chen", api.tokens["th-chen"])
    assert "; secure" in answer.headers["set-cookie"].lower()
    # Behind a proxy that ends TLS the request is http; the public URL says https.
    api.app.state.https = True
    try:
        async with browser(api.app, "10.0.1.2") as http:
            answer = await login(http, "th-chen", api.tokens["th-chen"])
    finally:
        api.app.state.https = False
    assert "; secure" in answer.headers["set-cookie"].lower()


async def test_the_sixth_bad_login_of_an_account_is_429_without_checking(api: ApiStack) -> None:
    async with browser(api.app, "10.0.2.1") as http:
        for _ in range(5):
            refused = await login(http, "dr-ames", "not-the-token")
            assert refused.status_code == 401
            assert "not valid" in refused.text
        # The right token is not even checked now: the answer is the same 429.
        limited = await login(http, "dr-ames", api.tokens["dr-ames"])
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) > 0
        for _ in range(20):
            assert (await login(http, "dr-ames", "guess")).status_code == 429
    # Another address does not unlock that account either (the limit is per account too).
    async with browser(api.app, "10.0.2.2") as http:
        assert (await login(http, "dr-ames", api.tokens["dr-ames"])).status_code == 429
        # Other accounts from that address log in.
        assert (await login(http, "sv-gray", api.tokens["sv-gray"])).status_code == 303
    entries = await api.services.access.audit_log(limit=30)
    assert {e.outcome for e in entries if e.action == "POST /login"} >= {
        "unauthenticated",
        "rate_limited",
    }


async def test_bad_logins_from_one_address_are_limited_whatever_the_account(api: ApiStack) -> None:
    async with browser(api.app, "10.0.3.1") as http:
        for n in range(5):
            assert (await login(http, f"nobody-{n}", "x")).status_code == 401
        limited = await login(http, "ops-1", api.tokens["ops-1"])
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) > 0
    async with browser(api.app, "10.0.3.2") as http:
        assert (await login(http, "ops-1", api.tokens["ops-1"])).status_code == 303


async def test_a_form_post_without_the_csrf_token_is_refused(api: ApiStack) -> None:
    await open_as(api, "J-CSRF-1", "ops-1")
    async with browser(api.app, "10.0.4.1") as http:
        assert (await login(http, "th-chen", api.tokens["th-chen"])).status_code == 303
        page = await http.get("/ui/journeys/J-CSRF-1")
        token = csrf_of(page)
        assert token
        action = "/ui/journeys/J-CSRF-1/event"
        before = (await api.services.journeys.state("J-CSRF-1")).model_dump()
        for forged in (
            {"kind": "missed_session"},
            {"kind": "missed_session", "csrf": token[:-2] + "xx"},
        ):
            refused = await http.post(action, data=forged)
            assert refused.status_code == 403
            assert "did not come from your dashboard session" in refused.text
        assert (await api.services.journeys.state("J-CSRF-1")).model_dump() == before
        sent = await http.post(action, data={"kind": "missed_session", "csrf": token})
        assert sent.status_code == 303, sent.text
        assert "message=" in sent.headers["location"]
    assert (await api.services.journeys.state("J-CSRF-1")).model_dump() != before
    entries = await api.services.access.audit_log(limit=10, journey_id="J-CSRF-1")
    outcomes = [(e.actor, e.outcome) for e in entries if e.action.endswith("/event")]
    assert outcomes.count(("th-chen", "csrf")) == 2


async def test_a_login_post_without_the_form_token_is_refused(api: ApiStack) -> None:
    async with browser(api.app, "10.0.4.2") as http:
        data = {"staff_id": "th-chen", "token": api.tokens["th-chen"]}
        assert (await http.post("/login", data=data)).status_code == 403
        assert SESSION_COOKIE not in http.cookies
