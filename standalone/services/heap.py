"""Hand the memory that start-up freed back to the system.

Start-up (imports, the database migrations, each tenant's command sync) frees
much of what it allocates, but glibc keeps freed pages in its heaps for later
use, so they stay in the process's resident memory while the bot idles.
``malloc_trim`` returns every whole free page; it is called once, when the bot is
ready (about 1.5 MiB of an idle ``tickets run``).
"""

from __future__ import annotations

import ctypes
import gc
import logging

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
