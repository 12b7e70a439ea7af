"""The stand-in's OAuth2: consent page, code for token, bearer-token user routes."""

from __future__ import annotations

import base64
import re
from urllib.parse import parse_qs, urlsplit

import aiohttp

from emulation.discord import FakeDiscord

from .conftest import Setup
from .test_openapi import schema_errors

REDIRECT = "http://127.0.0.1:9/callback"


def _basic(client_id: int, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


async def _code_by_clicking(session: aiohttp.ClientSession, fd: FakeDiscord, setup: Setup) -> str:
    params = {
        "client_id": str(setup.app.id),
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": "identify guilds",
        "state": "s1",
    }
    async with session.get(f"{fd.url}/oauth2/authorize", params=params) as resp:
        assert resp.status == 200
        page = await resp.text()
    assert "Authorize as alice" in page and "Authorize as Tickets" not in page  # no bots
    # What alice's button submits: the request's parameters and her id, as hidden fields.
    forms = re.findall(r'<form method="post" action="/oauth2/authorize">(.*?)</form>', page)
    (form,) = [f for f in forms if "Authorize as alice" in f]
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form))
    assert fields == dict(params, user_id=str(setup.alice.id))
    async with session.post(
        f"{fd.url}/oauth2/authorize", data=fields, allow_redirects=False
    ) as resp:
        assert resp.status == 302
        location = urlsplit(resp.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    query = parse_qs(location.query)
    assert query["state"] == ["s1"]
    return query["code"][0]


async def test_code_flow_and_bearer_routes_match_the_spec(fd: FakeDiscord, setup: Setup):
    secret = fd.oauth.client_secret(setup.app.id)
    async with aiohttp.ClientSession() as session:
        code = await _code_by_clicking(session, fd, setup)
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
        async with session.post(
            f"{fd.api_base}/oauth2/token",
            data=form,
            headers={"Authorization": _basic(setup.app.id, "wrong")},
        ) as resp:
            assert resp.status == 401
            assert (await resp.json())["error"] == "invalid_client"
        async with session.post(
            f"{fd.api_base}/oauth2/token",
            data=dict(form, redirect_uri="http://127.0.0.1:9/other"),
            headers={"Authorization": _basic(setup.app.id, secret)},
        ) as resp:
            assert resp.status == 400  # and the code is spent
        code = await _code_by_clicking(session, fd, setup)
        form["code"] = code
        async with session.post(
            f"{fd.api_base}/oauth2/token",
            data=dict(form, client_id=str(setup.app.id), client_secret=secret),
        ) as resp:
            assert resp.status == 200
            grant = await resp.json()
        assert grant["token_type"] == "Bearer" and grant["scope"] == "identify guilds"
        bearer = {"Authorization": f"Bearer {grant['access_token']}"}
        async with session.get(f"{fd.api_base}/users/@me", headers=bearer) as resp:
            me = await resp.json()
        assert me["id"] == str(setup.alice.id) and "bot" not in me
        assert schema_errors("/users/@me", "GET", 200, me) == []
        async with session.get(f"{fd.api_base}/users/@me/guilds", headers=bearer) as resp:
            guilds = await resp.json()
        assert schema_errors("/users/@me/guilds", "GET", 200, guilds) == []
        assert [(g["id"], g["owner"]) for g in guilds] == [(str(setup.guild.id), False)]
        # The owner's view says owner, with every permission.
        owner = fd.guild_owner(setup.guild.id)
        token = fd.oauth.issue_token(setup.app.id, owner.id, ["identify", "guilds"])
        async with session.get(
            f"{fd.api_base}/users/@me/guilds", headers={"Authorization": f"Bearer {token}"}
        ) as resp:
            (mine,) = await resp.json()
        assert mine["owner"] is True and int(mine["permissions"]) & (1 << 5)
        # The bot's own /users/@me is untouched.
        async with session.get(
            f"{fd.api_base}/users/@me", headers={"Authorization": f"Bot {setup.app.token}"}
        ) as resp:
            assert (await resp.json())["bot"] is True
        async with session.post(
            f"{fd.api_base}/oauth2/token/revoke",
            data={"token": grant["access_token"]},
            headers={"Authorization": _basic(setup.app.id, secret)},
        ) as resp:
            assert resp.status == 200
        async with session.get(f"{fd.api_base}/users/@me", headers=bearer) as resp:
            assert resp.status == 401
            assert schema_errors("/users/@me", "GET", 401, await resp.json()) == []
    assert fd.server_errors == []


async def test_scopes_limit_what_a_token_reads(fd: FakeDiscord, setup: Setup):
    token = fd.oauth.issue_token(setup.app.id, setup.alice.id, ["identify"])
    async with aiohttp.ClientSession() as session:
        async with session.get(
            f"{fd.api_base}/users/@me/guilds", headers={"Authorization": f"Bearer {token}"}
        ) as resp:
            assert resp.status == 403
        async with session.get(f"{fd.api_base}/users/@me/guilds") as resp:
            assert resp.status == 401


async def test_bad_authorize_requests_are_refused(fd: FakeDiscord, setup: Setup):
    good = {
        "client_id": str(setup.app.id),
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": "identify",
    }
    async with aiohttp.ClientSession() as session:
        for change in (
            {"client_id": "1"},
            {"response_type": "token"},
            {"redirect_uri": "javascript:alert(1)"},
            {"scope": "bot admin"},
        ):
            async with session.get(
                f"{fd.url}/oauth2/authorize", params=good | change, allow_redirects=False
            ) as resp:
                assert resp.status == 400, change
                assert "Invalid OAuth2 request" in await resp.text()


async def test_preselect_skips_the_page(fd: FakeDiscord, setup: Setup):
    fd.oauth.preselect(setup.alice.id)
    params = {
        "client_id": str(setup.app.id),
        "redirect_uri": REDIRECT + "?x=1",
        "response_type": "code",
        "scope": "identify",
    }
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{fd.url}/oauth2/authorize", params=params, allow_redirects=False) as resp,
    ):
        assert resp.status == 302
        assert resp.headers["Location"].startswith(REDIRECT + "?x=1&code=")
