"""Log in with Discord through the stand-in, sessions, logout, cookies and CSRF."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from .conftest import Portal


async def test_login_starts_a_session_for_the_user(portal: Portal):
    world = portal.worlds["red"]
    browser = await portal.login("red", world.member)
    status, me = await browser.call("GET", "/t/{t}/api/users/@me")
    assert status == 200
    assert (me["id"], me["username"], me["tenant"]) == (
        str(world.member.id),
        world.member.username,
        "red",
    )
    assert set(me["scopes"]) == {"identify", "guilds"}
    assert len(me["csrf_token"]) >= 32


async def test_the_session_cookie_is_httponly_lax_and_scoped_to_the_tenant(portal: Portal):
    browser = portal.new_browser("red")
    portal.discord.oauth.preselect(portal.worlds["red"].member.id)
    async with browser.session.get(browser.url("/t/{t}/auth/login"), allow_redirects=False) as r:
        state_cookie = r.cookies["tickets_login"]
        consent = r.headers["Location"]
    assert state_cookie["httponly"] and state_cookie["samesite"] == "Lax"
    assert state_cookie["path"] == "/t/red/auth"
    query = parse_qs(urlsplit(consent).query)
    assert query["client_id"] == [str(portal.worlds["red"].app.id)]
    assert query["redirect_uri"] == [f"{portal.base}/t/red/auth/callback"]
    assert query["scope"] == ["identify guilds"]
    async with browser.session.get(consent, allow_redirects=False) as r:
        callback = r.headers["Location"]
    async with browser.session.get(callback, allow_redirects=False) as r:
        cookie = r.cookies["tickets_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/t/red"
    assert not cookie["secure"]  # plain http here; https public URLs get Secure
    assert int(cookie["max-age"]) > 0


async def test_unauthenticated_is_401(portal: Portal):
    browser = portal.new_browser("red")
    status, body = await browser.call("GET", "/t/{t}/api/users/@me")
    assert status == 401
    assert body["error"]["message"] == "log in first"


async def test_a_forged_or_tampered_cookie_is_no_session(portal: Portal):
    browser = await portal.login("red", portal.worlds["red"].member)
    cookie = portal.session_cookie(browser)
    secret, _, mac = cookie.rpartition(".")
    flipped = mac[:-1] + ("B" if mac.endswith("A") else "A")
    for forged in (f"{secret}x.{mac}", f"{secret}.{flipped}", "nothing", ""):
        other = portal.new_browser("red")
        other.session.cookie_jar.update_cookies({"tickets_session": forged})
        status, _ = await other.call("GET", "/t/{t}/api/users/@me")
        assert status == 401, forged


async def test_a_callback_without_the_matching_state_is_refused(portal: Portal):
    attacker = portal.new_browser("red")
    portal.discord.oauth.preselect(portal.worlds["red"].staff.id)
    async with attacker.session.get(attacker.url("/t/{t}/auth/login"), allow_redirects=False) as r:
        consent = r.headers["Location"]
    async with attacker.session.get(consent, allow_redirects=False) as r:
        callback = r.headers["Location"]
    # The victim's browser has no (or another) pre-login cookie: a forced login fails.
    victim = portal.new_browser("red")
    async with victim.session.get(callback, allow_redirects=False) as r:
        assert r.status == 400
        assert (await r.json())["error"]["field"] == "state"
        assert "tickets_session" not in r.cookies
    wrong_state = callback.replace("state=", "state=x")
    async with attacker.session.get(wrong_state, allow_redirects=False) as r:
        assert r.status == 400


async def test_a_code_is_good_once(portal: Portal):
    browser = portal.new_browser("red")
    portal.discord.oauth.preselect(portal.worlds["red"].member.id)
    async with browser.session.get(browser.url("/t/{t}/auth/login"), allow_redirects=False) as r:
        consent = r.headers["Location"]
    async with browser.session.get(consent, allow_redirects=False) as r:
        callback = r.headers["Location"]
    async with browser.session.get(callback, allow_redirects=False) as r:
        assert r.status == 302
    async with browser.session.get(callback, allow_redirects=False) as r:
        # The pre-login cookie is gone and the code used: a replay gets no session.
        assert r.status == 400


async def test_logout_ends_the_session_server_side(portal: Portal):
    browser = await portal.login("red", portal.worlds["red"].member)
    cookie = portal.session_cookie(browser)
    tokens = portal.discord.oauth.live_tokens
    status, _ = await browser.call("POST", "/t/{t}/auth/logout")
    assert status == 302
    assert portal.discord.oauth.live_tokens == tokens - 1  # the Discord token is revoked
    # The old cookie, replayed from elsewhere, no longer works.
    replay = portal.new_browser("red")
    replay.session.cookie_jar.update_cookies({"tickets_session": cookie})
    status, _ = await replay.call("GET", "/t/{t}/api/users/@me")
    assert status == 401


@pytest.mark.parametrize("token", ["", "wrong"])
async def test_logout_needs_the_csrf_token(portal: Portal, token: str):
    browser = await portal.login("red", portal.worlds["red"].member)
    status, body = await browser.call("POST", "/t/{t}/auth/logout", csrf=token)
    assert status == 403
    assert "CSRF" in body["error"]["message"]
    status, _ = await browser.call("GET", "/t/{t}/api/users/@me")
    assert status == 200


async def test_logout_from_a_form_with_the_token_field(portal: Portal):
    browser = await portal.login("red", portal.worlds["red"].member)
    async with browser.session.post(
        browser.url("/t/{t}/auth/logout"), data={"csrf_token": browser.csrf}, allow_redirects=False
    ) as resp:
        assert resp.status == 302 and resp.headers["Location"] == "/t/red/"
    status, _ = await browser.call("GET", "/t/{t}/api/users/@me")
    assert status == 401


async def test_a_session_is_for_one_tenant(portal: Portal):
    red = await portal.login("red", portal.worlds["red"].member)
    cookie = portal.session_cookie(red)
    # The cookie's path keeps browsers from sending it to /t/blue; a client that does
    # anyway is still refused.
    blue = portal.new_browser("blue")
    blue.session.cookie_jar.update_cookies({"tickets_session": cookie})
    status, body = await blue.call("GET", "/t/{t}/api/users/@me")
    assert status == 403
    assert "another bot" in body["error"]["message"]


async def test_an_unknown_tenant_is_404(portal: Portal):
    browser = portal.new_browser("nobody")
    status, _ = await browser.call("GET", "/t/{t}/auth/login")
    assert status == 404
    status, _ = await browser.call("GET", "/t/{t}/api/users/@me")
    assert status == 404


async def test_login_without_a_client_secret_says_how_to_set_it(portal: Portal):
    await portal.backends.db.run("UPDATE tenant:blue SET oauth_secret = NONE;")
    browser = portal.new_browser("blue")
    status, body = await browser.call("GET", "/t/{t}/auth/login")
    assert status == 503
    assert "tickets tenants set-oauth blue" in body["error"]["message"]


async def test_next_only_goes_to_this_tenant(portal: Portal):
    browser = portal.new_browser("red")
    portal.discord.oauth.preselect(portal.worlds["red"].member.id)
    for target, expected in [
        ("/t/red/guilds/1", "/t/red/guilds/1"),
        ("https://evil.example/", "/t/red/"),
        ("/t/blue/", "/t/red/"),
        ("/t/red//evil.example", "/t/red/"),
    ]:
        async with browser.session.get(
            browser.url("/t/{t}/auth/login"), params={"next": target}, allow_redirects=False
        ) as r:
            consent = r.headers["Location"]
        async with browser.session.get(consent, allow_redirects=False) as r:
            callback = r.headers["Location"]
        async with browser.session.get(callback, allow_redirects=False) as r:
            assert r.headers["Location"] == expected


async def test_expired_sessions_end(portal: Portal):
    browser = await portal.login("red", portal.worlds["red"].member)
    await portal.backends.db.run(
        "UPDATE web_session SET expires_at = time::now() - 1s WHERE tenant = 'red';"
    )
    status, _ = await browser.call("GET", "/t/{t}/api/users/@me")
    assert status == 401
    # One left unused is swept at the next log-in.
    await portal.login("red", portal.worlds["red"].staff)
    await portal.backends.db.run("UPDATE web_session SET expires_at = time::now() - 1s;")
    await portal.login("red", portal.worlds["red"].other)
    rows = await portal.backends.db.one("SELECT user_id FROM web_session;")
    assert [r["user_id"] for r in rows] == [str(portal.worlds["red"].other.id)]


async def test_a_refused_consent_is_said_plainly(portal: Portal):
    browser = portal.new_browser("red")
    status, body = await browser.call(
        "GET", "/t/{t}/auth/callback?error=access_denied&state=whatever"
    )
    assert status == 400
    assert body["error"]["message"] == "Discord did not log you in: access_denied"
