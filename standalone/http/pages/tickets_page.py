"""The server list, the tickets list with search, and stored transcripts."""

from __future__ import annotations

from aiohttp import web

from standalone.http.access import current_session
from standalone.http.api.tickets import STATES
from standalone.http.deps import deps_of, tenant_of
from standalone.http.pages import backend
from standalone.http.pages.context import here, html_errors, page

MAX_QUERY = 100
ROOT = "/t/{tenant}/"
TICKETS = "/t/{tenant}/guilds/{guild}/tickets"
# A stored transcript is a page of its own with inline styles and no scripts;
# this policy keeps it that way even if a message's text got through unescaped.
TRANSCRIPT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


def routes() -> list[web.RouteDef]:
    return [
        web.get(ROOT, servers),
        web.get(TICKETS, tickets),
        web.get(TICKETS + "/{number:[0-9]{1,9}}/transcript", transcript),
    ]


@html_errors
async def servers(request: web.Request) -> web.StreamResponse:
    """The servers of the person logged in; a log-in button for anyone else."""
    tenant = await tenant_of(request)
    session = await current_session(request)
    if session is None:
        return page(request, "login.html", session=None, bot=tenant.name)
    listed = await backend.servers(deps_of(request), session)
    return page(request, "servers.html", session=session, servers=listed)


@html_errors
async def tickets(request: web.Request) -> web.StreamResponse:
    at = await here(request, admin=False)
    query = request.query.get("q", "").strip()[:MAX_QUERY]
    state = request.query.get("state", "")
    state = state if state in STATES else ""
    rows = await backend.tickets(at.deps, at.access, query, state or None)
    return page(
        request,
        "tickets.html",
        session=at.session,
        guild=at.guild,
        section="tickets",
        tickets=rows,
        query=query,
        state=state,
        states=STATES,
    )


@html_errors
async def transcript(request: web.Request) -> web.StreamResponse:
    at = await here(request, admin=False)
    # Not stored and not this viewer's to see are the same 404 page.
    html = await backend.transcript(at.deps, at.access, int(request.match_info["number"]))
    response = web.Response(body=html, content_type="text/html", charset="utf-8")
    response.headers["Content-Security-Policy"] = TRANSCRIPT_CSP
    response.headers["Cache-Control"] = "private, no-store"
    return response
