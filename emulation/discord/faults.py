"""Fault injection for the REST API: delay or fail a share of calls, reproducibly.

A separate aiohttp middleware, so other middlewares (rate limits) stay independent
of it. Rules are tried in the order added; the first whose route pattern matches and
whose dice roll hits applies. The dice come from one seeded ``random.Random``, so a
test that makes the same calls in the same order sees the same faults.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
from collections import Counter
from dataclasses import dataclass

from aiohttp import web

from .errors import DiscordError
from .web_util import Handler, json_response

API_PREFIX = "/api/v10"
# Discord's (and its edge's) answers: the JSON error shape with code 0.
_MESSAGES = {
    500: "500: Internal Server Error",
    502: "502: Bad Gateway",
    503: "503: Service Unavailable",
    504: "504: Gateway Timeout",
}


@dataclass(frozen=True)
class FaultRule:
    share: float
    # Matched (re.search) against "METHOD /path", the path without /api/v10.
    route: re.Pattern[str] | None
    delay: float = 0.0
    status: int | None = None
    # True: the call is carried out and only the answer is lost (a retry repeats it).
    after: bool = False


@dataclass(frozen=True)
class InjectedFault:
    method: str
    path: str
    kind: str  # "delay" or the status as text, e.g. "503"


class RestFaults:
    """Switchable faults; off until a rule is added and ``enabled`` is True (the default)."""

    def __init__(self, seed: int = 0) -> None:
        self.enabled = True
        self.rules: list[FaultRule] = []
        self.injected: list[InjectedFault] = []
        self._random = random.Random(seed)
        self._released = asyncio.Event()

    def seed(self, seed: int) -> None:
        self._random = random.Random(seed)

    def delay(self, share: float, seconds: float, *, route: str | None = None) -> None:
        """Hold ``share`` (0..1) of matching calls for ``seconds`` before handling them."""
        self.rules.append(FaultRule(_share(share), _pattern(route), delay=seconds))

    def fail(
        self, share: float, status: int = 500, *, route: str | None = None, after: bool = False
    ) -> None:
        """Answer ``share`` of matching calls with ``status`` (500/502/503/504).

        ``after=True`` carries the call out first and loses only the answer.
        """
        if status not in _MESSAGES:
            raise ValueError(f"status must be one of {sorted(_MESSAGES)}, not {status}")
        self.rules.append(FaultRule(_share(share), _pattern(route), status=status, after=after))

    def clear(self) -> None:
        """Remove every rule; counts stay (see ``reset_counts``)."""
        self.rules.clear()

    def release(self) -> None:
        """Let every delayed call through now (the server is stopping)."""
        self._released.set()
        self._released = asyncio.Event()

    def reset_counts(self) -> None:
        self.injected.clear()

    @property
    def counts(self) -> Counter[str]:
        """Injected faults by kind: ``counts["503"]``, ``counts["delay"]``."""
        return Counter(f.kind for f in self.injected)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not self.enabled or not self.rules or not request.path.startswith(API_PREFIX):
            return await handler(request)
        path = request.path.removeprefix(API_PREFIX)
        rule = self._pick(f"{request.method} {path}")
        if rule is None:
            return await handler(request)
        if rule.status is None:
            self.injected.append(InjectedFault(request.method, path, "delay"))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._released.wait(), rule.delay)
            return await handler(request)
        self.injected.append(InjectedFault(request.method, path, str(rule.status)))
        if rule.after:
            # The call's own outcome, success or Discord error, is what gets lost.
            with contextlib.suppress(DiscordError, web.HTTPException):
                await handler(request)
        return json_response({"code": 0, "message": _MESSAGES[rule.status]}, rule.status)

    def _pick(self, target: str) -> FaultRule | None:
        for rule in self.rules:
            if rule.route is not None and not rule.route.search(target):
                continue
            # One roll per matching rule, so the sequence depends only on the calls made.
            if self._random.random() < rule.share:
                return rule
        return None


def _share(share: float) -> float:
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"share must be between 0 and 1, not {share}")
    return share


def _pattern(route: str | None) -> re.Pattern[str] | None:
    return re.compile(route) if route is not None else None
