"""Which rate-limit bucket a REST call falls in, computed from its path as Discord does."""

from __future__ import annotations

import hashlib
import re
from urllib.parse import unquote

import msgspec

# Top-level path segments whose next segment(s) are the route's major parameter.
_MAJOR = {"channels": 1, "guilds": 1, "webhooks": 2, "interactions": 2}
# Authorized by an interaction or webhook token: not bound to the bot's global limit.
_TOKEN_ROUTES = frozenset({"webhooks", "interactions"})
_API_PREFIX = re.compile(r"^/api/v\d+(?=/)")
# Path segments Discord uses: ids, names, ``@me``, tokens, url-encoded emoji.
_SEGMENT = re.compile(r"^[A-Za-z0-9@._~%:\-]+$")


class BadPath(ValueError):
    """A path that is not a Discord API path the interceptor will forward."""


class Route(msgspec.Struct, frozen=True):
    """A call's bucket identity; ``route_id`` and ``major_id`` are safe to use in keys."""

    method: str
    template: str
    major: str
    global_bound: bool

    @property
    def route_id(self) -> str:
        return _digest(f"{self.method} {self.template}")

    @property
    def major_id(self) -> str:
        # The major parameter of a webhook or interaction holds its token: hashed,
        # it can name a key without the token being readable there.
        return _digest(self.major) if self.major else "-"


def api_path(path: str) -> str:
    """The path without its ``/api/vN`` prefix; raises BadPath for anything else."""
    match = _API_PREFIX.match(path)
    if match is None:
        raise BadPath("the path must start with /api/v<version>/")
    rest = path[match.end() :]
    segments = rest[1:].removesuffix("/").split("/")
    if not all(_SEGMENT.match(s) and unquote(s) not in {".", ".."} for s in segments) or any(
        c in unquote(s) for s in segments for c in "/\\"
    ):
        raise BadPath("the path has an empty, relative or unusual segment")
    return rest


def route_of(method: str, path: str) -> Route:
    """The bucket identity of ``method path`` (path without the ``/api/vN`` prefix)."""
    segments = path.strip("/").split("/")
    width = _MAJOR.get(segments[0], 0) if len(segments) > 1 else 0
    major = "/".join(segments[: width + 1]) if width and len(segments) > width else ""
    template = [segments[0]]
    for index, segment in enumerate(segments[1:], start=1):
        if index <= width:
            template.append("{major}")
        elif segment.isdigit():
            template.append("{id}")
        else:
            template.append(segment)
    return Route(
        method=method.upper(),
        template="/" + "/".join(template),
        major=major,
        global_bound=segments[0] not in _TOKEN_ROUTES,
    )


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:24]
