"""Interactions delivered over HTTP to an application's "interactions endpoint URL".

Discord POSTs the interaction, signed with the application's Ed25519 key
(``X-Signature-Ed25519`` over ``X-Signature-Timestamp`` + body); the endpoint's answer
is the interaction response, applied exactly as a POST to ``/callback`` would be.
Saving the URL is checked the way the developer portal checks it: a signed PING must
get PONG and a badly signed one must be refused with 401.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import aiohttp
import msgspec

from .errors import DiscordError
from .interactions_api import InteractionRoutes
from .message_input import MessageInput, decode_json, read_multipart
from .models import JSON, App
from .signing import new_key_pair, sign
from .state import World

log = logging.getLogger(__name__)

PING = 1
# Discord gives an endpoint 3 s; the stand-in waits longer so a loaded test machine
# does not fail deliveries at random (tests set ``timeout`` to probe the limit).
DELIVERY_TIMEOUT_S = 10.0
USER_AGENT = "Discord-Interactions/1.0 (+https://discord.com)"


class EndpointRejected(ValueError):
    """The URL failed the portal's check; the message is the portal's."""


@dataclass(frozen=True)
class DeliveryFailure:
    """An interaction the endpoint did not answer usefully ("This interaction failed")."""

    interaction_id: int
    reason: str


@dataclass(frozen=True)
class _Answer:
    status: int
    body: MessageInput | None


class HttpInteractions:
    """POSTs interactions to endpoint URLs and applies the answers as callbacks."""

    def __init__(self, world: World, routes: InteractionRoutes) -> None:
        self.world = world
        self.routes = routes
        self.timeout = DELIVERY_TIMEOUT_S
        self.deliveries: Counter[int] = Counter()
        self.failures: list[DeliveryFailure] = []
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def set_endpoint(self, app: App, url: str | None, *, validate: bool = True) -> None:
        """Save (or with None, clear) the app's interactions endpoint URL, as the portal does."""
        if url is not None and validate:
            await self._validate(app, url)
        app.interactions_endpoint_url = url

    def deliver(self, app: App, payload: Any) -> int:
        """Start delivering one INTERACTION_CREATE; returns 1 (one endpoint) like a dispatch."""
        task = asyncio.create_task(self._deliver(app, payload))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return 1

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- delivery -------------------------------------------------------------------------

    async def _deliver(self, app: App, payload: Any) -> None:
        raw_id = payload.get("id") if isinstance(payload, dict) else None
        interaction_id = int(str(raw_id)) if str(raw_id).isdigit() else 0
        url = app.interactions_endpoint_url
        if url is None:
            return
        self.deliveries[app.id] += 1
        try:
            answer = await self._post(url, msgspec.json.encode(payload), app.signing_key)
        except (aiohttp.ClientError, OSError, TimeoutError, DiscordError) as exc:
            self._fail(interaction_id, f"endpoint unreachable or invalid answer: {exc!r}")
            return
        inter = self.world.interactions.get(interaction_id)
        if answer.status != 200 or answer.body is None:
            self._fail(interaction_id, f"endpoint answered {answer.status}")
        elif inter is None:
            self._fail(interaction_id, "the stand-in does not know this interaction")
        else:
            try:
                self.routes.respond(inter, answer.body)
            except DiscordError as exc:
                self._fail(interaction_id, f"invalid interaction response: {exc}")

    def _fail(self, interaction_id: int, reason: str) -> None:
        log.info("HTTP interaction %s failed: %s", interaction_id, reason)
        self.failures.append(DeliveryFailure(interaction_id, reason))
        self.world.touch()

    async def _post(self, url: str, body: bytes, key: bytes) -> _Answer:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Signature-Ed25519": sign(key, timestamp, body),
            "X-Signature-Timestamp": timestamp,
        }
        async with self._session.post(
            url, data=body, headers=headers, timeout=aiohttp.ClientTimeout(total=self.timeout)
        ) as resp:
            if resp.status != 200:
                return _Answer(resp.status, None)
            if resp.content_type == "multipart/form-data":
                reader = aiohttp.MultipartReader(resp.headers, resp.content)
                return _Answer(resp.status, await read_multipart(reader))
            return _Answer(resp.status, MessageInput(raw=decode_json(await resp.read())))

    # -- the portal's check ---------------------------------------------------------------

    async def _validate(self, app: App, url: str) -> None:
        ping = msgspec.json.encode(self._ping(app))
        wrong_key, _ = new_key_pair()
        try:
            good = await self._post(url, ping, app.signing_key)
            forged = await self._post(url, ping, wrong_key)
        except (aiohttp.ClientError, OSError, TimeoutError, DiscordError) as exc:
            raise EndpointRejected(_REJECTED) from exc
        pong = good.body.raw if good.body is not None else None
        if good.status != 200 or not isinstance(pong, dict) or pong.get("type") != PING:
            raise EndpointRejected(_REJECTED)
        if forged.status != 401:
            raise EndpointRejected(_REJECTED)

    def _ping(self, app: App) -> JSON:
        interaction_id = self.world.ids.next()
        return {
            "id": str(interaction_id),
            "application_id": str(app.id),
            "type": PING,
            "token": self.world.new_interaction_token(interaction_id),
            "version": 1,
            "user": {"id": str(app.owner_id), "username": "discord"},
            "entitlements": [],
            "authorizing_integration_owners": {},
        }


_REJECTED = "The specified interactions endpoint url could not be verified."
