"""Discord's "interactions endpoint URL": signed interactions in, the worker's answer out.

Discord POSTs each interaction, signed with the application's Ed25519 key over
``X-Signature-Timestamp`` + body, and takes the HTTP answer as the interaction
response; it waits 3 s, and an empty acknowledgement is not an answer.

Design: the worker stays the one that answers, exactly as for gateway
interactions. The ingress puts the interaction on the tenant's event stream,
like the gateway, and holds Discord's request open. The worker's callback
(``POST /interactions/{id}/{token}/callback``) goes through the interceptor,
which sees ``keys.http_interaction`` set and hands the body over the
coordination pub/sub (``relay_answer``) instead of sending it to Discord; the
ingress returns it as its answer, then tells the interceptor it was written, so
the worker's next call (a followup) does not overtake it. A modal, which can
only be a first answer, works this way; a deferral decided here at once would
make the worker's own callback fail. Only when no answer comes in
``answer_timeout_s`` does the ingress defer (type 6 for a component; otherwise
type 5, ephemeral, since the late answer can no longer choose) so Discord does
not show "interaction failed"; the interceptor then turns the worker's late
message or update into an edit of the original response, and drops a late
deferral. A late modal cannot be shown.

So HTTP interactions need workers that call Discord through the interceptor
(``interceptor.url``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping

import msgspec
from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from emulation.ports import Coordination, Subscription
from standalone import keys
from standalone.tracing import new_traceparent
from standalone.wire import Envelope, encode_envelope

log = logging.getLogger(__name__)

PING, COMPONENT, AUTOCOMPLETE = 1, 3, 4
PONG = 1
EPHEMERAL = 1 << 6
DEFERRED_MESSAGE, DEFERRED_UPDATE, AUTOCOMPLETE_RESULT = 5, 6, 8
MAX_AGE_S = 300  # a signature older (or newer) than this is a replay, refused
ANSWER_TIMEOUT_S = 2.5  # under Discord's 3 s, with time for the answer to travel
MAX_BODY_BYTES = 1024 * 1024
STREAM_MAXLEN = 100_000
# Longer than any handler may take to answer: an interaction token lives 15 minutes.
WAITING_TTL_MS = 15 * 60 * 1000
WAITING = b"waiting"

PublicKeys = Callable[[str], Awaitable[str | None]]


class _Interaction(msgspec.Struct):
    id: str
    type: int
    application_id: str = ""


class Deferred(msgspec.Struct, frozen=True):
    """The ingress deferred the interaction: a late answer must edit the original instead."""

    application_id: str
    kind: int


class Answer(msgspec.Struct, frozen=True):
    """A worker's interaction response, relayed to the ingress holding Discord's request."""

    content_type: str
    body: bytes


def add_interaction_routes(
    app: web.Application,
    *,
    coordination: Coordination,
    public_keys: PublicKeys,
    answer_timeout_s: float = ANSWER_TIMEOUT_S,
    clock: Callable[[], float] = time.time,
) -> None:
    """Serve ``POST /interactions/{tenant}``; ``public_keys(tenant)`` is the app's hex key."""
    ingress = _Ingress(coordination, public_keys, answer_timeout_s, clock)
    app.router.add_post("/interactions/{tenant}", ingress.handle)


def verify(public_key_hex: str, signature_hex: str, timestamp: str, body: bytes) -> bool:
    """Whether Discord signed ``timestamp + body`` with the key."""
    try:
        key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key_hex))
        key.verify(bytes.fromhex(signature_hex), timestamp.encode() + body)
    except (ValueError, InvalidSignature):
        return False
    return True


async def relay_answer(
    coordination: Coordination, tenant: str, interaction_id: int, answer: Answer
) -> bool | Deferred:
    """Hand a worker's callback to the ingress waiting for it.

    True once the ingress has written it to Discord (or after ``ANSWER_TIMEOUT_S``),
    so a followup the worker sends next does not overtake it; False when no
    ingress holds the interaction (it came by the gateway); ``Deferred`` when
    the ingress gave up waiting and deferred it.
    """
    key = keys.http_interaction(tenant, interaction_id)
    state = await coordination.cache.get(key)
    if state is None:
        return False
    if state != WAITING:
        return _deferred(state)
    sent = await coordination.pubsub.subscribe([keys.interaction_answered(tenant, interaction_id)])
    try:
        channel = keys.interaction_answer(tenant, interaction_id)
        if await coordination.pubsub.publish(channel, msgspec.msgpack.encode(answer)) == 0:
            # The ingress stopped waiting just now: it deferred, or it is gone.
            state = await coordination.cache.get(key)
            return _deferred(state) if state not in (None, WAITING) else False
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(_first(sent), ANSWER_TIMEOUT_S)
        return True
    finally:
        await sent.close()


def _deferred(state: bytes | None) -> bool | Deferred:
    try:
        return msgspec.msgpack.decode(state or b"", type=Deferred)
    except msgspec.DecodeError:
        return False


async def _first(subscription: Subscription) -> None:
    async for _ in subscription:
        return


class _Ingress:
    def __init__(
        self,
        coordination: Coordination,
        public_keys: PublicKeys,
        answer_timeout_s: float,
        clock: Callable[[], float],
    ) -> None:
        self.coordination = coordination
        self.public_keys = public_keys
        self.answer_timeout_s = answer_timeout_s
        self.clock = clock

    async def handle(self, request: web.Request) -> web.StreamResponse:
        tenant = request.match_info["tenant"]
        key = await self.public_keys(tenant)
        if key is None:
            return _json({"message": "unknown application"}, 404)
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            return _json({"message": "too large"}, 413)
        body = await _read_at_most(request, MAX_BODY_BYTES)
        if body is None:
            return _json({"message": "too large"}, 413)
        if not self._signed(key, request.headers, body):
            return _json({"message": "invalid request signature"}, 401)
        try:
            interaction = msgspec.json.decode(body, type=_Interaction)
            interaction_id = int(interaction.id)
        except (msgspec.DecodeError, ValueError):
            return _json({"message": "not an interaction"}, 400)
        if interaction.type == PING:
            return _json({"type": PONG})
        return await self._forward(request, tenant, interaction_id, interaction, body)

    def _signed(self, key: str, headers: Mapping[str, str], body: bytes) -> bool:
        signature = headers.get("X-Signature-Ed25519", "")
        timestamp = headers.get("X-Signature-Timestamp", "")
        if not timestamp.isdigit() or abs(self.clock() - int(timestamp)) > MAX_AGE_S:
            return False
        return verify(key, signature, timestamp, body)

    async def _forward(
        self,
        request: web.Request,
        tenant: str,
        interaction_id: int,
        interaction: _Interaction,
        body: bytes,
    ) -> web.Response:
        coordination = self.coordination
        waiting = keys.http_interaction(tenant, interaction_id)
        subscription = await coordination.pubsub.subscribe(
            [keys.interaction_answer(tenant, interaction_id)]
        )
        try:
            await coordination.cache.set(waiting, WAITING, ttl_ms=WAITING_TTL_MS)
            # Shard -1 and sequence 0: not from a gateway session.
            envelope = Envelope(
                tenant=tenant,
                shard=-1,
                seq=0,
                type="INTERACTION_CREATE",
                data=body,
                trace=new_traceparent(),
            )
            await coordination.streams.append(
                keys.events(tenant), encode_envelope(envelope), maxlen=STREAM_MAXLEN
            )
            answer = await self._answer(subscription)
            if answer is None:
                # Before unsubscribing: an answer relayed from now on finds the deferral.
                deferred = Deferred(
                    application_id=interaction.application_id, kind=interaction.type
                )
                await coordination.cache.set(
                    waiting, msgspec.msgpack.encode(deferred), ttl_ms=WAITING_TTL_MS
                )
            else:
                await coordination.cache.delete(waiting)
        finally:
            await subscription.close()
        if answer is None:
            log.warning(
                "tenant %s: no answer to interaction %s in time; deferred", tenant, interaction_id
            )
            return _json(_deferral(interaction.type))
        response = web.Response(body=answer.body, headers={"Content-Type": answer.content_type})
        await response.prepare(request)
        await response.write_eof()
        await coordination.pubsub.publish(keys.interaction_answered(tenant, interaction_id), b"1")
        return response

    async def _answer(self, subscription: Subscription) -> Answer | None:
        async def first() -> Answer | None:
            async for message in subscription:
                with contextlib.suppress(msgspec.DecodeError):
                    return msgspec.msgpack.decode(message.data, type=Answer)
            return None

        try:
            return await asyncio.wait_for(first(), self.answer_timeout_s)
        except TimeoutError:
            return None


async def _read_at_most(request: web.Request, limit: int) -> bytes | None:
    """The body, or None once it grows past ``limit`` (whatever the app's own limit)."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(64 * 1024):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _deferral(kind: int) -> dict[str, object]:
    if kind == AUTOCOMPLETE:
        return {"type": AUTOCOMPLETE_RESULT, "data": {"choices": []}}
    if kind == COMPONENT:
        return {"type": DEFERRED_UPDATE}
    # Ephemeral: the late answer edits this message and cannot make it private
    # then, while a public answer shown only to its reader leaks nothing.
    return {"type": DEFERRED_MESSAGE, "data": {"flags": EPHEMERAL}}


def _json(data: object, status: int = 200) -> web.Response:
    return web.Response(
        body=msgspec.json.encode(data), status=status, content_type="application/json"
    )
