"""The heap of a long-running bot process, settled once it has started.

Start-up leaves tens of megabytes of objects that live as long as the process
(disnake's command trees, catalogues, compiled patterns, the SDK's schemas). A
full collection walks all of them, and was measured at 70 ms on the bot and
170 ms on the benchmark's stand-in: a stall every interaction then waiting
behind it feels. ``gc.freeze`` moves them out of the collector's sight, so
later collections walk only what was made since.

Only for the process entry points (``tickets run`` and ``tickets serve``): a
test process starts and stops many bots, and objects frozen while one of them
ran would never be collected once it stopped. The benchmark's own process (the
stand-in that measures) uses ``settled()``, which unfreezes at its end.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


def settle() -> None:
    """Collect what start-up threw away, then keep what is left out of later collections."""
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
