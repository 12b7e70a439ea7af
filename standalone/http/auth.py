"""Log in with Discord (OAuth2 code flow), per tenant, and log out.

``GET /t/{tenant}/auth/login?next=/t/{tenant}/...`` sets a signed pre-login
cookie holding a random ``state`` and sends the browser to Discord's consent
page with that state; ``GET /t/{tenant}/auth/callback`` accepts only the same
state back (so a login cannot be forced on someone), swaps the code for a token
with the tenant's client secret, reads the user and their guilds, and starts a
session. ``POST /t/{tenant}/auth/logout`` (CSRF-checked) ends it server-side and
revokes the Discord token. Each tenant is its own Discord application: the
client id is the application id, the secret is set with
``tickets tenants set-oauth NAME --client-secret ...``.
"""

from __future__ import annotations

import logging
import secrets

import msgspec
from aiohttp import web

from standalone.db.records import Tenant
from standalone.http.access import current_session
from standalone.http.csrf import check_csrf
from standalone.http.deps import HttpDeps, deps_of, tenant_of
from standalone.http.discord_api import DiscordRefused, DiscordUnavailable
from standalone.http.errors import ApiError
from standalone.http.sessions import SESSION_COOKIE

log = logging.getLogger(__name__)

STATE_COOKIE = "tickets_login"
STATE_TTL_S = 600


class _LoginState(msgspec.Struct):
    state: str
    next: str


def _redirect(location: str) -> web.Response:
    return web.Response(status=302, headers={"Location": location})


def _root(tenant: str) -> str:
    return f"/t/{tenant}/"


def _callback_url(deps: HttpDeps, tenant: str) -> str:
    return f"{deps.public_url}/t/{tenant}/auth/callback"


def _safe_next(tenant: str, value: str | None) -> str:
    """Only a path of this tenant's site: never another host or another tenant."""
    root = _root(tenant)
    if value and value.startswith(root) and "//" not in value and "\\" not in value:
        return value
    return root


def _secret(deps: HttpDeps, tenant: Tenant) -> str:
    secret = deps.tenants.oauth_secret(tenant)
    if secret is None:
        raise ApiError(
            503,
            f"log-in is not set up for this bot: run 'tickets tenants set-oauth {tenant.name} "
            "--client-secret ...' with the secret from Discord's developer portal",
        )
    return secret


def _set_cookie(
    response: web.StreamResponse, deps: HttpDeps, name: str, value: str, path: str, max_age: int
) -> None:
    response.set_cookie(
        name,
        value,
        path=path,
        max_age=max_age,
        httponly=True,
        samesite="Lax",
        secure=deps.secure_cookies,
    )


async def login(request: web.Request) -> web.StreamResponse:
    deps = deps_of(request)
    tenant = await tenant_of(request)
    _secret(deps, tenant)
    state = secrets.token_urlsafe(24)
    target = _safe_next(tenant.name, request.query.get("next"))
    cookie = deps.signer.sign(msgspec.json.encode(_LoginState(state, target)).hex())
    response = _redirect(
        deps.discord.login_url(tenant.application_id, _callback_url(deps, tenant.name), state)
    )
    _set_cookie(response, deps, STATE_COOKIE, cookie, f"/t/{tenant.name}/auth", STATE_TTL_S)
    return response


def _login_state(deps: HttpDeps, request: web.Request) -> _LoginState | None:
    raw = deps.signer.unsign(request.cookies.get(STATE_COOKIE, ""))
    if raw is None:
        return None
    try:
        return msgspec.json.decode(bytes.fromhex(raw), type=_LoginState)
    except (ValueError, msgspec.DecodeError):
        return None


async def callback(request: web.Request) -> web.StreamResponse:
    deps = deps_of(request)
    tenant = await tenant_of(request)
    secret = _secret(deps, tenant)
    if "error" in request.query:
        raise ApiError(400, f"Discord did not log you in: {request.query['error']}")
    expected = _login_state(deps, request)
    state, code = request.query.get("state", ""), request.query.get("code", "")
    if expected is None or not secrets.compare_digest(state.encode(), expected.state.encode()):
        raise ApiError(400, "this log-in link is stale or not yours; start again", "state")
    if not code:
        raise ApiError(400, "Discord sent no code", "code")
    try:
        grant = await deps.discord.exchange_code(
            tenant.application_id, secret, code, _callback_url(deps, tenant.name)
        )
        user = await deps.discord.me(grant.access_token)
        guilds = await deps.discord.my_guilds(grant.access_token)
    except DiscordRefused as exc:
        log.warning("login for tenant %s refused: %s", tenant.name, exc)
        raise ApiError(400, "Discord refused the log-in; start again") from None
    except DiscordUnavailable as exc:
        log.warning("login for tenant %s failed: %s", tenant.name, exc)
        raise ApiError(502, "Discord cannot be reached; try again") from None
    # Sessions end on logout or on their next use after expiry; the ones never
    # used again are swept here, at the moment the table grows anyway.
    await deps.sessions.end_expired()
    _, cookie = await deps.sessions.create(
        tenant.name, user, grant.access_token, grant.scope.split(), guilds
    )
    response = _redirect(expected.next)
    _set_cookie(response, deps, SESSION_COOKIE, cookie, f"/t/{tenant.name}", deps.sessions.ttl_s)
    response.del_cookie(STATE_COOKIE, path=f"/t/{tenant.name}/auth")
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    deps = deps_of(request)
    tenant = await tenant_of(request)
    session = await current_session(request)
    form = await request.post() if request.content_type.endswith("form-urlencoded") else None
    if session is not None:
        check_csrf(request, session, form)
        await deps.sessions.end(session)
        secret = deps.tenants.oauth_secret(tenant)
        if secret is not None:
            try:
                await deps.discord.revoke(
                    tenant.application_id, secret, deps.sessions.access_token(session)
                )
            except (DiscordRefused, DiscordUnavailable) as exc:
                # The session is gone either way; Discord's token expires on its own.
                log.info("could not revoke a Discord token at logout: %s", exc)
    response = _redirect(_root(tenant.name))
    response.del_cookie(SESSION_COOKIE, path=f"/t/{tenant.name}")
    return response


def routes() -> list[web.RouteDef]:
    return [
        web.get("/t/{tenant}/auth/login", login),
        web.get("/t/{tenant}/auth/callback", callback),
        web.post("/t/{tenant}/auth/logout", logout),
    ]
