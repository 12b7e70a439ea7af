"""Reads shared by the handlers of one gateway event.

One message in a ticket is archived, counted as activity and may cancel a close
request: three features, each looking up the same ticket, category and guild
settings. Inside ``shared_reads()`` (the event router opens it around one event)
the first lookup of each goes to the database and the others reuse it, so every
handler of the event sees those rows as they were when the event was first looked
at, as they would if the handlers ran side by side. A handler that changes a row
and needs it again uses what its write returned, as the handlers do already.
Outside the scope every read goes to the database.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar, cast

T = TypeVar("T")

_shared: ContextVar[dict[Hashable, Any] | None] = ContextVar("shared_reads", default=None)


@contextmanager
def shared_reads() -> Iterator[None]:
    """Let the reads made inside (in this task) be shared, until the scope ends."""
    token = _shared.set({})
    try:
        yield
    finally:
        _shared.reset(token)


async def read_once(key: Hashable, load: Callable[[], Awaitable[T]]) -> T:
    """``load()``, or inside ``shared_reads()`` what it returned for ``key`` already."""
    memo = _shared.get()
    if memo is None:
        return await load()
    if key in memo:
        return cast(T, memo[key])
    value = await load()
    memo[key] = value
    return value
