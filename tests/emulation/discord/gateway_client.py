"""A raw gateway client for protocol tests: frames in, frames out, nothing hidden."""

from __future__ import annotations

import asyncio
import json
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from emulation.discord import FakeDiscord

TIMEOUT = 30


class RawGateway:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse, compressed: bool) -> None:
        self.ws = ws
        self.inflate = zlib.decompressobj() if compressed else None

    async def recv(self) -> dict[str, Any]:
        msg = await asyncio.wait_for(self.ws.receive(), TIMEOUT)
        if msg.type == aiohttp.WSMsgType.BINARY:
            assert self.inflate is not None and msg.data.endswith(b"\x00\x00\xff\xff")
            return json.loads(self.inflate.decompress(msg.data))
        if msg.type == aiohttp.WSMsgType.TEXT:
            return json.loads(msg.data)
        raise ConnectionError(msg.type, self.ws.close_code)

    async def until(self, event: str) -> dict[str, Any]:
        while (frame := await self.recv()).get("t") != event:
            pass
        return frame

    async def until_op(self, op: int) -> dict[str, Any]:
        while (frame := await self.recv()).get("op") != op:
            pass
        return frame

    async def closed(self) -> int | None:
        """Read until the server ends the socket; the close code (None: no close frame)."""
        while True:
            try:
                await self.recv()
            except ConnectionError:
                return self.ws.close_code

    async def send(self, op: int, d: Any) -> None:
        await self.ws.send_str(json.dumps({"op": op, "d": d}))

    async def identify(self, token: str, shard: list[int] | None = None, intents: int = 513) -> Any:
        """IDENTIFY after HELLO; the READY payload (``d``)."""
        hello = await self.recv()
        assert hello["op"] == 10
        d: dict[str, Any] = {"token": token, "intents": intents, "properties": {}}
        if shard is not None:
            d["shard"] = shard
        await self.send(2, d)
        return (await self.until("READY"))["d"]

    async def resume(self, token: str, session_id: str, seq: int) -> None:
        hello = await self.recv()
        assert hello["op"] == 10
        await self.send(6, {"token": token, "session_id": session_id, "seq": seq})


@asynccontextmanager
async def raw_gateway(fd: FakeDiscord, compress: bool = True) -> AsyncIterator[RawGateway]:
    query = "?v=10&encoding=json" + ("&compress=zlib-stream" if compress else "")
    async with aiohttp.ClientSession() as session, session.ws_connect(fd.gateway_url + query) as ws:
        yield RawGateway(ws, compress)
