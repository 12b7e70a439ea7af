"""Settling the heap after start-up."""

from __future__ import annotations

import gc
import weakref

from standalone.services import heap


def test_settled_freezes_what_lives_then_gives_it_back():
    assert gc.get_freeze_count() == 0
    kept = [object() for _ in range(100)]
    with heap.settled():
        # Start-up's objects are out of the collector's sight, garbage was collected.
        assert gc.get_freeze_count() >= len(kept)
        assert gc.get_count()[0] < 100
    assert gc.get_freeze_count() == 0


def test_settle_collects_cycles_before_freezing():
    class Node:
        def __init__(self) -> None:
            self.me = self

    cycle = weakref.ref(Node())  # a cycle only the collector frees
    before = gc.get_freeze_count()
    try:
        heap.settle()
        assert cycle() is None  # freed, not frozen for ever
        assert gc.get_freeze_count() > before
    finally:
        gc.unfreeze()


def test_settle_after_a_collection_only_freezes():
    class Node:
        def __init__(self) -> None:
            self.me = self

    gc.collect()
    cycle = weakref.ref(Node())
    try:
        heap.settle(collected=True)  # trusted: the runner has just collected
        assert cycle() is not None  # not walked again, frozen as it was
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.collect()
    assert cycle() is None
