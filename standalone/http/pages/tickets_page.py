"""The server list, the tickets list with search, and stored transcripts."""

from __future__ import annotations

from aiohttp import web

from standalone.http.pages.context import Pages

MAX_QUERY = 100
# A stored transcript is a whole page of its own with inline styles and no scripts;
# this policy keeps it that way even if a message's text got through unescaped.
TRANSCRIPT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


class TicketsPage:
    def __init__(self, pages: Pages) -> None:
        self.pages = pages

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/", self.servers),
            web.get("/guilds/{guild}/tickets", self.tickets),
            web.get("/guilds/{guild}/tickets/{number:[0-9]{1,9}}/transcript", self.transcript),
        ]

    async def servers(self, request: web.Request) -> web.Response:
        viewer = await self.pages.viewer(request)
        servers = await self.pages.port.guilds(viewer)
        return self.pages.page(request, "servers.html", user=viewer, servers=servers)

    async def tickets(self, request: web.Request) -> web.Response:
        viewer = await self.pages.viewer(request)
        guild = await self.pages.guild(request, viewer, admin=False)
        query = request.query.get("q", "").strip()[:MAX_QUERY]
        state = request.query.get("state", "")
        state = state if state in {"open", "closed"} else ""
        rows = await self.pages.port.tickets(viewer, guild, query, state)
        return self.pages.page(
            request,
            "tickets.html",
            user=viewer,
            guild=guild,
            section="tickets",
            tickets=rows,
            query=query,
            state=state,
        )

    async def transcript(self, request: web.Request) -> web.Response:
        viewer = await self.pages.viewer(request)
        guild = await self.pages.guild(request, viewer, admin=False)
        html = await self.pages.port.transcript(viewer, guild, int(request.match_info["number"]))
        if html is None:
            # Not stored, or not this viewer's to see: the same answer for both.
            return self.pages.message(
                request,
                404,
                "No transcript",
                "There is no transcript of that ticket for you.",
                viewer,
            )
        response = web.Response(body=html, content_type="text/html", charset="utf-8")
        response.headers["Content-Security-Policy"] = TRANSCRIPT_CSP
        response.headers["Cache-Control"] = "private, no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response
