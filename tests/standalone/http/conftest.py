"""The http service on a real socket, the Discord stand-in with its OAuth2, a real database.

``Portal.login(user)`` goes through the whole code flow (login → the stand-in's
consent → callback) and returns a ``Browser``: an HTTP client with that session's
cookies and its CSRF token.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import disnake
import pytest
from yarl import URL

from emulation.discord import FakeDiscord
from standalone.config import Config, load_config
from standalone.db.tenants import TenantRepository
from standalone.http.service import HttpService
from standalone.services.aio import Backends, open_backends
from tests.e2e.conftest import World, make_world

MANAGE_GUILD = 1 << 5


def http_config(tmp_path: Path, discord: FakeDiscord, **extra: str) -> Config:
    environ = {
        "TICKETS__DISCORD__API_BASE": discord.api_base,
        "TICKETS__DATABASE__URL": "mem://",
        "TICKETS__STORAGE__URL": f"file://{tmp_path / 'objects'}",
        "TICKETS__SECURITY__KEY_FILE": str(tmp_path / "secret.key"),
        "TICKETS__HTTP__LISTEN": "127.0.0.1:0",
        "TICKETS__HTTP__MAX_BODY_BYTES": "65536",
    }
    environ.update(extra)
    return load_config(environ=environ)


@pytest.fixture
async def discord() -> AsyncIterator[FakeDiscord]:
    fake = FakeDiscord()
    await fake.start()
    # The service points disnake (one base per process) at the stand-in; put it back.
    base = disnake.http.Route.BASE
    yield fake
    disnake.http.Route.BASE = base
    await fake.stop()


@dataclass
class Browser:
    """An HTTP client with its own cookie jar, like one browser profile."""

    session: aiohttp.ClientSession
    base: str
    tenant: str
    csrf: str = ""

    def url(self, path: str) -> str:
        return self.base + path.format(t=self.tenant)

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        csrf: str | None = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        """Status and decoded JSON (bytes for other types, None for no body).

        Sends the CSRF token on writes unless ``csrf`` says otherwise.
        """
        sent = dict(headers or {})
        token = self.csrf if csrf is None else csrf
        if method not in ("GET", "HEAD") and token:
            sent["X-CSRF-Token"] = token
        kwargs: dict[str, Any] = {"headers": sent, "allow_redirects": False}
        if raw is not None:
            kwargs["data"] = raw
            sent.setdefault("Content-Type", "application/json")
        elif body is not None:
            kwargs["json"] = body
        async with self.session.request(method, self.url(path), **kwargs) as resp:
            data = await resp.read()
            if not data:
                return resp.status, None
            if resp.content_type != "application/json":
                return resp.status, data
            return resp.status, await resp.json()


@dataclass
class Portal:
    """The running service, its tenants and what tests need to log in."""

    discord: FakeDiscord
    backends: Backends
    service: HttpService
    worlds: dict[str, World]
    browsers: list[aiohttp.ClientSession] = field(default_factory=list)

    @property
    def base(self) -> str:
        return self.service.url

    def new_browser(self, tenant: str) -> Browser:
        session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.browsers.append(session)
        return Browser(session, self.base, tenant)

    async def login(self, tenant: str, user: Any) -> Browser:
        """The whole code flow, as a browser follows it, with ``user`` preselected."""
        browser = self.new_browser(tenant)
        self.discord.oauth.preselect(user.id)
        try:
            async with browser.session.get(
                browser.url("/t/{t}/auth/login"), allow_redirects=False
            ) as resp:
                assert resp.status == 302, await resp.text()
                consent = resp.headers["Location"]
            assert consent.startswith(self.discord.url + "/oauth2/authorize?")
            async with browser.session.get(consent, allow_redirects=False) as resp:
                assert resp.status == 302, await resp.text()
                callback = resp.headers["Location"]
            assert urlsplit(callback).path == f"/t/{tenant}/auth/callback"
            async with browser.session.get(callback, allow_redirects=False) as resp:
                assert resp.status == 302, await resp.text()
                assert resp.headers["Location"] == f"/t/{tenant}/"
        finally:
            self.discord.oauth.preselect(None)
        status, me = await browser.call("GET", "/t/{t}/api/users/@me")
        assert status == 200, me
        browser.csrf = me["csrf_token"]
        return browser

    def session_cookie(self, browser: Browser) -> str:
        cookies = browser.session.cookie_jar.filter_cookies(URL(browser.url("/t/{t}/")))
        return cookies["tickets_session"].value


async def add_tenant(backends: Backends, discord: FakeDiscord, world: World) -> None:
    repo = TenantRepository(backends.db, backends.cipher)
    await repo.add(world.tenant, world.app.token, str(world.app.id))
    await repo.set_oauth_secret(world.tenant, discord.oauth.client_secret(world.app.id))


@pytest.fixture
async def portal(tmp_path: Path, discord: FakeDiscord) -> AsyncIterator[Portal]:
    config = http_config(tmp_path, discord)
    backends = await open_backends(config)
    worlds = {name: make_world(discord, name) for name in ("red", "blue")}
    for world in worlds.values():
        await add_tenant(backends, discord, world)
    service = HttpService(config, backends)
    await service.start()
    built = Portal(discord, backends, service, worlds)
    yield built
    for session in built.browsers:
        await session.close()
    await service.stop()
    await backends.close()
    assert discord.server_errors == []


@dataclass
class Seeded:
    """What the API tests work on in red's server: one of everything."""

    admin: Browser
    member: Browser
    guild: str
    category: str
    question: str
    tag: str
    ticket: int  # the member's closed ticket, with a transcript
    other_ticket: int  # another member's ticket


TRANSCRIPT = b"<html><body><p>alex: my printer is on fire</p></body></html>"


async def seed_ticket(
    portal: Portal,
    tenant: str,
    guild_id: str,
    category: str,
    creator_id: int,
    topic: str,
    *,
    closed: bool = True,
) -> int:
    """A ticket as the bot records it: encrypted topic, and a stored transcript once closed."""
    from datetime import UTC, datetime

    from standalone.db.tickets import TicketRepository
    from storage.scoped import ScopedStore

    repo = TicketRepository(portal.backends.db, tenant)
    cipher = portal.backends.cipher
    stamp = str(int(datetime.now(UTC).timestamp() * 1e6))
    ticket = await repo.create(guild_id, category, str(creator_id), stamp, cipher.encrypt(topic))
    ticket = await repo.mark_open(guild_id, ticket.number, stamp, None)
    if closed:
        key = f"transcripts/{guild_id}/{ticket.number}.html"
        await ScopedStore(portal.backends.store, tenant).put(key, TRANSCRIPT)
        await repo.mark_closed(ticket, key)
    return ticket.number


@pytest.fixture
async def seeded(portal: Portal) -> Seeded:
    world = portal.worlds["red"]
    admin = await portal.login("red", world.staff)
    member = await portal.login("red", world.member)
    guild = str(world.guild.id)
    status, category = await admin.call(
        "POST",
        f"/t/{{t}}/api/admin/guilds/{guild}/categories",
        {"name": "Support", "staff_roles": [str(world.staff_role.id)]},
    )
    assert status == 201, category
    status, question = await admin.call(
        "POST",
        f"/t/{{t}}/api/admin/guilds/{guild}/categories/{category['key']}/questions",
        {"label": "What happened?"},
    )
    assert status == 201, question
    status, tag = await admin.call(
        "POST",
        f"/t/{{t}}/api/admin/guilds/{guild}/tags",
        {"name": "hello", "content": "Hi there!"},
    )
    assert status == 201, tag
    ticket = await seed_ticket(
        portal, "red", guild, category["key"], world.member.id, "my printer is on fire"
    )
    other = await seed_ticket(
        portal, "red", guild, category["key"], world.other.id, "olga's secret", closed=False
    )
    return Seeded(admin, member, guild, category["key"], question["key"], tag["key"], ticket, other)
