"""Pick the coordination adapter named by a URL."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from emulation.ports import Coordination


def memory_cache_size(url: str) -> int | None:
    """Check a coordination URL; the cache bound it asks for (None: the default).

    Raises ValueError with a message for a person when the URL is unusable.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme != "memory":
        raise ValueError(f"unsupported coordination URL scheme {scheme!r} (expected memory://)")
    query = parse_qs(parts.query, strict_parsing=False)
    unknown = set(query) - {"max_entries"}
    if unknown:
        raise ValueError(f"unknown option(s) in coordination URL: {', '.join(sorted(unknown))}")
    if "max_entries" not in query:
        return None
    raw = query["max_entries"][-1]
    try:
        max_entries = int(raw)
    except ValueError:
        raise ValueError(f"max_entries must be an integer, got {raw!r}") from None
    if max_entries <= 0:
        raise ValueError(f"max_entries must be positive, got {max_entries}")
    return max_entries


async def connect_coordination(url: str) -> Coordination:
    """Open the coordination backend for ``url``.

    ``memory://`` (optionally ``?max_entries=N``) is the in-process adapter.
    """
    from emulation.memory import MemoryCoordination

    size = memory_cache_size(url)
    return MemoryCoordination() if size is None else MemoryCoordination(max_cache_entries=size)
