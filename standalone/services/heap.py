"""The heap of a long-running bot process, once it has started.

Start-up (imports, the database migrations, each tenant's command sync) frees
much of what it allocates, but glibc keeps freed pages in its heaps for later
use, so they stay in the process's resident memory while the bot idles.
``release_freed_memory`` returns every whole free page; the runner calls it once,
when the bot is ready (about 1.5 MiB of an idle ``tickets run``).

What start-up keeps lives as long as the process (disnake's command trees,
catalogues, compiled patterns, the SDK's schemas). A full collection walks all
of it, and was measured at 70 ms on the bot and 170 ms on the benchmark's
stand-in: a stall every interaction then waiting behind it feels. ``settle``
moves it out of the collector's sight (``gc.freeze``), so later collections walk
only what was made since. Only for the process entry points (``tickets run`` and
``tickets serve``): a test process starts and stops many bots, and objects frozen
while one of them ran would never be collected once it stopped. The benchmark's
own process (the stand-in that measures) uses ``settled()``, which unfreezes at
its end.
"""

from __future__ import annotations

import ctypes
import gc
import logging
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)


def release_freed_memory() -> None:
    """Collect garbage, then return the heaps' free pages (glibc only; elsewhere a no-op)."""
    gc.collect()
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return  # not glibc: musl and macOS have no malloc_trim
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    trim(0)
    log.debug("returned the heaps' free pages to the system")


def settle(*, collected: bool = False) -> None:
    """Collect what start-up threw away, then keep what is left out of later collections.

    ``collected``: a full collection just ran (``release_freed_memory``); another
    would walk the whole heap again for nothing (about 70 ms of a bot's start).
    """
    if not collected:
        gc.collect()
    gc.freeze()


@contextmanager
def settled() -> Iterator[None]:
    """``settle()`` for a while: what was frozen is collectable again afterwards."""
    settle()
    try:
        yield
    finally:
        gc.unfreeze()
