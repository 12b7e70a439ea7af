"""Presence recording in the gateway: a GUILD_CREATE listing N online members, then
N PRESENCE_UPDATEs, into the coordination cache; and one staff check over S members.

The gateway's shard waits for the recording (it runs before the event is handed
on), so this is the pause a big server's GUILD_CREATE adds to that shard.

Usage: PYTHONPATH=. python bench/presences.py [COORDINATION_URL] [N ...]
(default memory://, N = 1000 10000 50000)
"""

from __future__ import annotations

import asyncio
import sys
import time

import msgspec

from emulation.connect import connect_coordination
from standalone.services.member_presences import PresenceRecorder, online_among

STAFF = 200


async def run(url: str, count: int) -> None:
    coordination = await connect_coordination(url)
    try:
        recorder = PresenceRecorder(coordination.cache, f"bench{count}")
        presences = [
            {"user": {"id": str(10**17 + n)}, "status": "online", "guild_id": "1"}
            for n in range(count)
        ]
        created = msgspec.json.encode({"id": "1", "presences": presences})
        start = time.perf_counter()
        await recorder.observe("GUILD_CREATE", created)
        listed = time.perf_counter() - start
        updates = [
            msgspec.json.encode(p | {"status": "idle" if n % 2 else "offline"})
            for n, p in enumerate(presences)
        ]
        start = time.perf_counter()
        for update in updates:
            await recorder.observe("PRESENCE_UPDATE", update)
        per_update = (time.perf_counter() - start) / count
        staff = [str(10**17 + n * 2) for n in range(STAFF)]  # all offline by now
        start = time.perf_counter()
        online = await online_among(coordination.cache, f"bench{count}", "1", staff)
        check = time.perf_counter() - start
        assert online is False
        print(
            f"{count:>7} online: GUILD_CREATE {listed * 1000:8.1f} ms · "
            f"PRESENCE_UPDATE {per_update * 1e6:6.1f} µs each · "
            f"staff check over {STAFF} {check * 1000:5.2f} ms"
        )
    finally:
        await coordination.close()


async def main() -> None:
    args = sys.argv[1:]
    url = args.pop(0) if args and "://" in args[0] else "memory://"
    for count in [int(a) for a in args] or [1000, 10000, 50000]:
        await run(url, count)


if __name__ == "__main__":
    asyncio.run(main())
