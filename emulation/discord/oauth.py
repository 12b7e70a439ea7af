"""Discord's OAuth2 code flow, as far as a "log in with Discord" website uses it.

``GET /oauth2/authorize`` shows a tiny consent page that lists the stand-in's users,
each with an "Authorize" button (a browser test clicks one); ``preselect`` makes it
answer at once for a given user instead. ``POST /api/v10/oauth2/token`` turns a code
into a bearer token (client authentication checked, the code bound to its client and
redirect URI, usable once); ``/users/@me`` and ``/users/@me/guilds`` answer bearer
tokens with the user and the guilds they are in. ``POST /api/v10/oauth2/token/revoke``
ends a token, as a logout does.
"""

from __future__ import annotations

import base64
import binascii
import html
import secrets
from urllib.parse import parse_qsl, urlencode, urlsplit

from aiohttp import web

from . import errors, payloads
from . import permissions as perms
from .state import World
from .web_util import Handler, bot_auth, json_response

API_PREFIX = "/api/v10"
TOKEN_TTL_S = 604_800  # Discord's access tokens live a week
SCOPES = frozenset({"identify", "guilds", "email", "guilds.members.read"})


class _Grant:
    """What a code or a token stands for: which user let which app do what."""

    __slots__ = ("app_id", "redirect_uri", "scopes", "user_id")

    def __init__(self, app_id: int, user_id: int, scopes: list[str], redirect_uri: str) -> None:
        self.app_id = app_id
        self.user_id = user_id
        self.scopes = scopes
        self.redirect_uri = redirect_uri


def _oauth_error(status: int, error: str, description: str) -> web.Response:
    # The token endpoint answers with RFC 6749 errors, not Discord's {code, message}.
    return json_response({"error": error, "error_description": description}, status)


class OAuthServer:
    """The OAuth2 provider of one stand-in: client secrets, codes and tokens in memory."""

    def __init__(self, world: World) -> None:
        self.world = world
        self._secrets: dict[int, str] = {}
        self._codes: dict[str, _Grant] = {}
        self._tokens: dict[str, _Grant] = {}
        self._preselected: int | None = None

    # -- test hooks -----------------------------------------------------------------------

    def client_secret(self, app_id: int) -> str:
        """The app's OAuth2 client secret (made on first use, as the portal shows it)."""
        self.world.application(app_id)
        return self._secrets.setdefault(app_id, secrets.token_urlsafe(24))

    def preselect(self, user_id: int | None) -> None:
        """Authorize as this user without showing the consent page (None: show it again)."""
        if user_id is not None and user_id not in self.world.users:
            raise KeyError(f"no user {user_id}")
        self._preselected = user_id

    def issue_token(self, app_id: int, user_id: int, scopes: list[str]) -> str:
        """A bearer token as if the user had authorized the app (for tests of the API)."""
        token = secrets.token_urlsafe(24)
        self._tokens[token] = _Grant(app_id, user_id, scopes, "")
        return token

    @property
    def live_tokens(self) -> int:
        return len(self._tokens)

    # -- plumbing -------------------------------------------------------------------------

    def install(self, app: web.Application) -> None:
        """Add the routes and the bearer-token middleware (inside the REST middleware)."""
        app.router.add_get("/oauth2/authorize", self.authorize_page)
        app.router.add_post("/oauth2/authorize", self.authorize)
        app.router.add_post(API_PREFIX + "/oauth2/token", self.token)
        app.router.add_post(API_PREFIX + "/oauth2/token/revoke", self.revoke)
        app.router.add_get(API_PREFIX + "/users/@me/guilds", self.my_guilds)
        app.middlewares.append(self._bearer_me)

    @web.middleware
    async def _bearer_me(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        # ``/users/@me`` is the bot's own route too; a bearer token means a person.
        if request.path == API_PREFIX + "/users/@me" and _bearer(request) is not None:
            grant = self._grant(request, "identify")
            return json_response(payloads.current_user(self.world, grant.user_id))
        return await handler(request)

    def _grant(self, request: web.Request, scope: str) -> _Grant:
        token = _bearer(request)
        grant = self._tokens.get(token or "")
        if grant is None:
            raise errors.unauthorized()
        if scope not in grant.scopes:
            raise errors.missing_access()
        return grant

    # -- consent --------------------------------------------------------------------------

    def _request_error(self, params: dict[str, str]) -> str | None:
        if params.get("response_type") != "code":
            return "response_type must be 'code'"
        client = params.get("client_id", "")
        if not client.isdigit() or int(client) not in self.world.apps:
            return "unknown client_id"
        redirect = urlsplit(params.get("redirect_uri", ""))
        if redirect.scheme not in ("http", "https") or not redirect.netloc:
            return "redirect_uri must be an absolute http(s) URL"
        scopes = params.get("scope", "").split()
        if not scopes or not set(scopes) <= SCOPES:
            return f"scope must be some of {', '.join(sorted(SCOPES))}"
        return None

    def _redirect(self, params: dict[str, str], user_id: int) -> web.Response:
        code = secrets.token_urlsafe(18)
        self._codes[code] = _Grant(
            int(params["client_id"]), user_id, params["scope"].split(), params["redirect_uri"]
        )
        query = {"code": code}
        if "state" in params:
            query["state"] = params["state"]
        separator = "&" if urlsplit(params["redirect_uri"]).query else "?"
        # Returned, not raised: the REST middleware answers any raised exception with 500.
        location = params["redirect_uri"] + separator + urlencode(query)
        return web.Response(status=302, headers={"Location": location})

    async def authorize_page(self, request: web.Request) -> web.Response:
        params = dict(request.query)
        if (problem := self._request_error(params)) is not None:
            return web.Response(status=400, text=f"Invalid OAuth2 request: {problem}")
        if self._preselected is not None:
            return self._redirect(params, self._preselected)
        app = self.world.apps[int(params["client_id"])]
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in params.items()
        )
        rows = "".join(
            f'<li><form method="post" action="/oauth2/authorize">{hidden}'
            f'<input type="hidden" name="user_id" value="{user.id}">'
            f'<button type="submit" data-user="{html.escape(user.username)}">'
            f"Authorize as {html.escape(user.username)}</button></form></li>"
            for user in self.world.users.values()
            if not user.bot
        )
        page = (
            "<!doctype html><html><head><meta charset='utf-8'><title>Authorize</title></head>"
            f"<body><h1>{html.escape(app.name)} wants to access your account</h1>"
            f"<p>Scopes: {html.escape(params['scope'])}</p><ul>{rows}</ul></body></html>"
        )
        return web.Response(text=page, content_type="text/html")

    async def authorize(self, request: web.Request) -> web.Response:
        params = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        if (problem := self._request_error(params)) is not None:
            return web.Response(status=400, text=f"Invalid OAuth2 request: {problem}")
        user = params.pop("user_id", "")
        if not user.isdigit() or int(user) not in self.world.users:
            return web.Response(status=400, text="Invalid OAuth2 request: unknown user")
        return self._redirect(params, int(user))

    # -- tokens ---------------------------------------------------------------------------

    def _client(self, request: web.Request, form: dict[str, str]) -> int | None:
        """The app that authenticated, by HTTP Basic or form fields; None if it failed."""
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        header = request.headers.get("Authorization", "")
        if header.startswith("Basic "):
            try:
                decoded = base64.b64decode(header[6:], validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                return None
            client_id, _, secret = decoded.partition(":")
        if not client_id.isdigit() or int(client_id) not in self.world.apps:
            return None
        expected = self._secrets.get(int(client_id))
        if expected is None or not secrets.compare_digest(expected, secret):
            return None
        return int(client_id)

    async def _form(self, request: web.Request) -> dict[str, str] | None:
        if request.content_type != "application/x-www-form-urlencoded":
            return None
        return dict(parse_qsl((await request.read()).decode("utf-8", "replace")))

    async def token(self, request: web.Request) -> web.Response:
        form = await self._form(request)
        if form is None:
            return _oauth_error(400, "invalid_request", "expected a form-encoded body")
        app_id = self._client(request, form)
        if app_id is None:
            return _oauth_error(401, "invalid_client", "client authentication failed")
        if form.get("grant_type") != "authorization_code":
            return _oauth_error(400, "unsupported_grant_type", "only authorization_code")
        grant = self._codes.pop(form.get("code", ""), None)
        if grant is None or grant.app_id != app_id:
            return _oauth_error(400, "invalid_grant", "unknown or used code")
        if grant.redirect_uri != form.get("redirect_uri"):
            return _oauth_error(400, "invalid_grant", "redirect_uri does not match")
        token = secrets.token_urlsafe(24)
        self._tokens[token] = grant
        return json_response(
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": TOKEN_TTL_S,
                "refresh_token": secrets.token_urlsafe(24),
                "scope": " ".join(grant.scopes),
            }
        )

    async def revoke(self, request: web.Request) -> web.Response:
        form = await self._form(request)
        if form is None:
            return _oauth_error(400, "invalid_request", "expected a form-encoded body")
        app_id = self._client(request, form)
        if app_id is None:
            return _oauth_error(401, "invalid_client", "client authentication failed")
        grant = self._tokens.get(form.get("token", ""))
        if grant is not None and grant.app_id == app_id:
            del self._tokens[form["token"]]
        return json_response({})

    async def my_guilds(self, request: web.Request) -> web.Response:
        if _bearer(request) is None:
            # A bot lists the guilds it is in.
            user_id = bot_auth(self.world, request).bot_user.id
        else:
            user_id = self._grant(request, "guilds").user_id
        out: list[dict[str, object]] = []
        for guild in self.world.guilds.values():
            if user_id not in guild.members:
                continue
            owner = guild.owner_id == user_id
            have = self.world.permissions(guild.id, user_id)
            out.append(
                {
                    "id": str(guild.id),
                    "name": guild.name,
                    "icon": None,
                    "banner": None,
                    "owner": owner,
                    "permissions": str(perms.ALL if owner else have),
                    "features": [],
                }
            )
        return json_response(out)


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    return header.removeprefix("Bearer ") if header.startswith("Bearer ") else None
