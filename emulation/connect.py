"""Pick the coordination adapter named by a URL.

- ``memory://[?max_entries=N]``: in this process.
- ``unix:///path/to.sock`` (or ``unix://relative/path.sock``): the server run by
  ``tickets emulation serve --socket PATH``, shared by local processes.
- ``redis://``, ``rediss://``, ``valkey://``, ``valkeys://`` (``host[:port][/db]``),
  or ``redis+unix:///path/to/redis.sock[?db=N]``: real Valkey or Redis
  (needs the ``valkey`` extra).
"""

from __future__ import annotations

import importlib.util
from typing import Literal
from urllib.parse import parse_qs, urlsplit

import msgspec

from emulation.memory.aof import FsyncPolicy
from emulation.ports import Coordination

MEMORY_SCHEMES = ("memory",)
UNIX_SCHEMES = ("unix",)
VALKEY_TCP_SCHEMES = ("redis", "rediss", "valkey", "valkeys")
VALKEY_UNIX_SCHEMES = ("redis+unix", "valkey+unix")
_EXPECTED = "memory://, unix://, redis://, rediss://, valkey:// or redis+unix://"


class CoordinationTarget(msgspec.Struct, frozen=True, kw_only=True):
    """What a coordination URL asks for, once checked."""

    kind: Literal["memory", "unix", "valkey"]
    # memory: the cache bound (None: the default).
    max_entries: int | None = None
    # unix: the server's socket path.
    socket_path: str | None = None
    # valkey: the URL as redis-py reads it.
    redis_url: str | None = None


def _options(query: str, allowed: set[str]) -> dict[str, str]:
    parsed = parse_qs(query, keep_blank_values=True)
    unknown = set(parsed) - allowed
    if unknown:
        raise ValueError(f"unknown option(s) in coordination URL: {', '.join(sorted(unknown))}")
    return {key: values[-1] for key, values in parsed.items()}


def _memory(query: str) -> CoordinationTarget:
    options = _options(query, {"max_entries"})
    if "max_entries" not in options:
        return CoordinationTarget(kind="memory")
    raw = options["max_entries"]
    try:
        max_entries = int(raw)
    except ValueError:
        raise ValueError(f"max_entries must be an integer, got {raw!r}") from None
    if max_entries <= 0:
        raise ValueError(f"max_entries must be positive, got {max_entries}")
    return CoordinationTarget(kind="memory", max_entries=max_entries)


def redact(url: str) -> str:
    """The URL with its password hidden, for messages and logs."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def _valkey(url: str, scheme: str) -> CoordinationTarget:
    if importlib.util.find_spec("redis") is None:
        raise ValueError(f"{scheme}:// needs redis-py: pip install 'tickets-standalone[valkey]'")
    parts = urlsplit(url)
    shown = redact(url)
    if scheme in VALKEY_UNIX_SCHEMES:
        options = _options(parts.query, {"db", "password", "username"})
        if not parts.path:
            raise ValueError(f"{shown!r} names no socket path (expected {scheme}:///path/to.sock)")
        db = options.get("db", "0")
        if not db.isdigit():
            raise ValueError(f"db must be a number, got {db!r}")
        return CoordinationTarget(kind="valkey", redis_url="unix://" + url.split("://", 1)[1])
    if not parts.hostname:
        raise ValueError(f"{shown!r} names no host (expected {scheme}://host[:port][/db])")
    try:
        parts.port  # noqa: B018 - parsing it raises on a bad port
    except ValueError:
        raise ValueError(f"{shown!r} has an invalid port") from None
    db = parts.path.lstrip("/")
    if db and not db.isdigit():
        raise ValueError(f"the database in {shown!r} must be a number, got {db!r}")
    tls = scheme in ("rediss", "valkeys")
    rest = url.split("://", 1)[1]
    return CoordinationTarget(kind="valkey", redis_url=("rediss://" if tls else "redis://") + rest)


def parse_coordination_url(url: str) -> CoordinationTarget:
    """Check a coordination URL and say what it asks for.

    Raises ValueError with a message for a person when the URL is unusable.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in MEMORY_SCHEMES:
        return _memory(parts.query)
    if scheme in UNIX_SCHEMES:
        _options(parts.query, set())
        path = parts.netloc + parts.path
        if not path:
            raise ValueError(f"{url!r} names no socket path (expected unix:///path/to.sock)")
        return CoordinationTarget(kind="unix", socket_path=path)
    if scheme in VALKEY_TCP_SCHEMES or scheme in VALKEY_UNIX_SCHEMES:
        return _valkey(url, scheme)
    raise ValueError(f"unsupported coordination URL scheme {scheme!r} (expected {_EXPECTED})")


def memory_cache_size(url: str) -> int | None:
    """The cache bound a ``memory://`` URL asks for (None: the default)."""
    target = parse_coordination_url(url)
    if target.kind != "memory":
        raise ValueError(f"{url!r} is not a memory:// URL")
    return target.max_entries


async def connect_coordination(
    url: str,
    *,
    aof_path: str | None = None,
    fsync: FsyncPolicy = "everysec",
    timeout_s: float = 5.0,
) -> Coordination:
    """Open the coordination backend for ``url``.

    ``aof_path`` persists the streams and leases of ``memory://`` (a ``unix://``
    server takes its own, from ``tickets emulation serve --aof``). Raises
    ConnectionError when a server does not answer within ``timeout_s`` (a
    ``unix://`` client also waits that long to reconnect later).
    """
    target = parse_coordination_url(url)
    if target.kind == "memory":
        from emulation.memory import MemoryCoordination

        size = 100_000 if target.max_entries is None else target.max_entries
        return MemoryCoordination(size, aof_path=aof_path or None, fsync=fsync)
    if target.kind == "unix":
        from emulation.unix import UnixCoordination

        assert target.socket_path is not None
        client = UnixCoordination(target.socket_path, reconnect_timeout_s=timeout_s)
        await client.connect()
        return client
    from redis.exceptions import RedisError

    from emulation.valkey import ValkeyCoordination

    assert target.redis_url is not None
    coordination = ValkeyCoordination.from_url(target.redis_url)
    try:
        await coordination.ping()
    except (RedisError, OSError) as exc:
        await coordination.close()
        raise ConnectionError(f"cannot reach Valkey at {redact(url)}: {exc}") from None
    return coordination
