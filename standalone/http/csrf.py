"""CSRF protection: a token bound to the session, required on every state-changing request.

JSON clients send it in the ``X-CSRF-Token`` header, HTML forms in a hidden
``csrf_token`` field (``csrf_token(session)`` gives the value to render). The
session cookie is also SameSite=Lax, but the token is what is relied on.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from aiohttp import web

from standalone.http.errors import forbidden
from standalone.http.sessions import Session

CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def csrf_token(session: Session) -> str:
    """The token pages put in their forms and JSON clients echo in the header."""
    return session.csrf


def check_csrf(
    request: web.Request, session: Session, form: Mapping[str, object] | None = None
) -> None:
    """Raise 403 unless the request carries the session's token (header or form field)."""
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and form is not None:
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not sent:
        raise forbidden(f"missing CSRF token (send the {CSRF_HEADER} header)")
    if not hmac.compare_digest(sent.encode(), session.csrf.encode()):
        raise forbidden("wrong CSRF token; reload the page")
