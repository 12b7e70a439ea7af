"""Every API route against every kind of caller and every kind of bad request.

For each route: unauthenticated (401), another tenant's session (403), a server
of another tenant (404), a plain member (403 on admin routes), the admin
(success); on writes, a missing or wrong CSRF token (403, nothing changed); on
JSON bodies, malformed (400), oversized (413), not JSON (415) and a field of the
wrong type (422 naming it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from standalone.http.api.table import api_routes

from .conftest import Portal, Seeded

Body = Callable[[Seeded, Portal], Any]


@dataclass
class Case:
    method: str
    template: str  # the route's path
    auth: str  # none, session, member, admin
    ok: int = 200
    body: Body | None = None  # what the admin sends
    bad: tuple[dict[str, Any], str] | None = None  # a wrong-typed body and the field named
    member_ok: int = 200  # what a plain member gets on a member route
    raw: bool = False  # a ZIP body, not JSON
    before: Callable[[Seeded, Portal], Any] | None = None
    fields: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.method} {self.template.removeprefix('/t/{tenant}/api')}"

    @property
    def writes(self) -> bool:
        return self.method in ("POST", "PUT", "PATCH", "DELETE")


G = "/t/{tenant}/api/admin/guilds/{guild}"
CASES = [
    Case("GET", "/api/status", "none"),
    Case("GET", "/t/{tenant}/api/users/@me", "session"),
    Case("GET", "/t/{tenant}/api/guilds", "session"),
    Case("GET", "/t/{tenant}/api/guilds/{guild}", "member"),
    Case("GET", "/t/{tenant}/api/admin/guilds", "session"),
    Case("GET", G, "admin"),
    Case("GET", f"{G}/discord", "admin"),
    Case("GET", f"{G}/settings", "admin"),
    Case("GET", f"{G}/stats", "admin"),
    Case(
        "PATCH",
        f"{G}/settings",
        "admin",
        body=lambda s, p: {"footer": "Thanks!", "colour": 0x00FF00},
        bad=({"colour": "green"}, "colour"),
    ),
    Case("GET", f"{G}/categories", "admin"),
    Case(
        "POST",
        f"{G}/categories",
        "admin",
        ok=201,
        body=lambda s, p: {"name": "Billing"},
        bad=({"name": "Billing", "member_limit": "two"}, "member_limit"),
    ),
    Case("GET", f"{G}/categories/{{category}}", "admin"),
    Case(
        "PATCH",
        f"{G}/categories/{{category}}",
        "admin",
        body=lambda s, p: {"opening_message": "Hello {username}"},
        bad=({"staff_roles": "everyone"}, "staff_roles"),
    ),
    Case("DELETE", f"{G}/categories/{{category}}", "admin", ok=204),
    Case("GET", f"{G}/categories/{{category}}/questions", "admin"),
    Case(
        "POST",
        f"{G}/categories/{{category}}/questions",
        "admin",
        ok=201,
        body=lambda s, p: {"label": "Order number?", "style": 1},
        bad=({"label": "x", "style": 3}, "style"),
    ),
    Case(
        "PUT",
        f"{G}/categories/{{category}}/question-order",
        "admin",
        body=lambda s, p: {"keys": [s.question]},
        bad=({"keys": "all"}, "keys"),
    ),
    Case(
        "PATCH",
        f"{G}/categories/{{category}}/questions/{{question}}",
        "admin",
        body=lambda s, p: {"label": "What broke?"},
        bad=({"required": "yes"}, "required"),
    ),
    Case("DELETE", f"{G}/categories/{{category}}/questions/{{question}}", "admin", ok=204),
    Case("GET", f"{G}/tags", "admin"),
    Case(
        "POST",
        f"{G}/tags",
        "admin",
        ok=201,
        body=lambda s, p: {"name": "rules", "content": "Be nice", "regex": "rules?"},
        bad=({"name": "x", "content": ["a"]}, "content"),
    ),
    Case("GET", f"{G}/tags/{{tag}}", "admin"),
    Case(
        "PATCH",
        f"{G}/tags/{{tag}}",
        "admin",
        body=lambda s, p: {"content": "Hello!"},
        bad=({"regex": 7}, "regex"),
    ),
    Case("DELETE", f"{G}/tags/{{tag}}", "admin", ok=204),
    Case(
        "POST",
        f"{G}/panels",
        "admin",
        ok=201,
        body=lambda s, p: {"channel_id": str(p.worlds["red"].support.id)},
        bad=({"channel_id": 5}, "channel_id"),
    ),
    Case("GET", "/t/{tenant}/api/guilds/{guild}/tickets", "member"),
    Case("GET", "/t/{tenant}/api/guilds/{guild}/tickets/@me", "member"),
    Case("GET", "/t/{tenant}/api/guilds/{guild}/tickets/{number}", "member"),
    Case("GET", "/t/{tenant}/api/guilds/{guild}/tickets/{number}/transcript", "member"),
    Case("GET", f"{G}/tickets", "admin"),
    Case("GET", f"{G}/export", "admin"),
    # Not an export: refused before anything is read (see test_api_portability for more).
    Case("POST", f"{G}/import", "admin", ok=422, raw=True, body=lambda s, p: b"PK"),
    Case(
        "GET",
        f"{G}/transfer",
        "admin",
        before=lambda s, p: s.admin.call("GET", f"/t/{{t}}/api/admin/guilds/{s.guild}/export"),
    ),
]


def test_the_cases_cover_every_route():
    table = {(r.method, r.path) for r in api_routes()}
    cases = {(c.method, c.template) for c in CASES}
    assert cases == table
    auth = {(r.method, r.path): r.auth for r in api_routes()}
    assert all(auth[(c.method, c.template)] == c.auth for c in CASES)


def _path(case: Case, seeded: Seeded, guild: str | None = None) -> str:
    return case.template.format(
        tenant="{t}",
        guild=guild or seeded.guild,
        category=seeded.category,
        question=seeded.question,
        tag=seeded.tag,
        number=seeded.ticket,
    )


async def _send(browser: Any, case: Case, path: str, body: Any, **kw: Any) -> tuple[int, Any]:
    if case.raw:
        return await browser.call(
            case.method, path, raw=body, headers={"Content-Type": "application/zip"}, **kw
        )
    return await browser.call(case.method, path, body, **kw)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_route(case: Case, portal: Portal, seeded: Seeded):
    red, blue = portal.worlds["red"], portal.worlds["blue"]
    path = _path(case, seeded)
    body = case.body(seeded, portal) if case.body else None

    if case.auth != "none":
        anonymous = portal.new_browser("red")
        status, error = await _send(anonymous, case, path, body)
        assert status == 401, error
        assert error["error"]["status"] == 401

        # Blue's admin, logged in to blue, sends that cookie to red's URLs.
        blue_admin = await portal.login("blue", blue.staff)
        intruder = portal.new_browser("red")
        intruder.session.cookie_jar.update_cookies(
            {"tickets_session": portal.session_cookie(blue_admin)}
        )
        status, error = await _send(intruder, case, path, body, csrf=blue_admin.csrf)
        assert status == 403, error

    if "{guild}" in case.template:
        # Blue's server, where red's bot is not: as if it did not exist.
        status, error = await _send(
            seeded.admin, case, _path(case, seeded, guild=str(blue.guild.id)), body
        )
        assert status == 404, error

    if case.auth == "admin":
        status, error = await _send(seeded.member, case, path, body)
        assert status == 403, error
    elif case.auth in ("member", "session"):
        status, data = await _send(seeded.member, case, path, body)
        assert status == case.member_ok, data

    if case.writes:
        for token in ("", "not-the-token"):
            status, error = await _send(seeded.admin, case, path, body, csrf=token)
            assert status == 403, error
            assert "CSRF" in error["error"]["message"]

    if case.body is not None and not case.raw:
        status, error = await seeded.admin.call(case.method, path, raw=b"{not json")
        assert status == 400 and "malformed JSON" in error["error"]["message"], error
        huge = b'{"name": "' + b"x" * 70_000 + b'"}'
        status, error = await seeded.admin.call(case.method, path, raw=huge)
        assert status == 413, error
        status, error = await seeded.admin.call(
            case.method, path, raw=b"name=x", headers={"Content-Type": "text/plain"}
        )
        assert status == 415, error
    if case.bad is not None:
        bad, named = case.bad
        status, error = await seeded.admin.call(case.method, path, bad)
        assert status == 422, error
        assert error["error"]["field"] == named, error

    if case.before is not None:
        await case.before(seeded, portal)
    status, data = await _send(seeded.admin, case, path, body)
    assert status == case.ok, data
    assert red.guild.id  # the red world is the one served
