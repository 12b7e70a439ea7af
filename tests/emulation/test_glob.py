"""Valkey glob patterns: the same answers as a plain regex, without its blow-up."""

from __future__ import annotations

import random
import re

from emulation.memory import MemoryCoordination
from emulation.memory.glob import _class, glob_match


def _regex_oracle(text: str) -> re.Pattern[bytes]:
    """The straightforward translation, one ``.*`` per star: right, but it backtracks."""
    pattern = text.encode()
    out: list[bytes] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i : i + 1]
        if c == b"*":
            out.append(b".*")
        elif c == b"?":
            out.append(b".")
        elif c == b"[":
            part, i = _class(pattern, i + 1)
            out.append(part)
            continue
        elif c == b"\\" and i + 1 < n:
            i += 1
            out.append(re.escape(pattern[i : i + 1]))
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile(b"".join(out), re.DOTALL)


def test_matches_what_the_plain_translation_matches() -> None:
    rng = random.Random(7)
    for _ in range(3_000):
        pattern = "".join(rng.choice("ab*?*[]^\\-") for _ in range(rng.randint(0, 8)))
        oracle = _regex_oracle(pattern)
        for _ in range(10):
            name = "".join(rng.choice("ab-^]\\") for _ in range(rng.randint(0, 10)))
            # Valkey's loop never starts on an empty name (see the glob module).
            expected = oracle.fullmatch(name.encode()) is not None and bool(name or not pattern)
            assert glob_match(pattern, name) is expected, (pattern, name)


async def test_a_pattern_that_makes_a_regex_backtrack_is_answered() -> None:
    # As one regex this is C(4000, 30) attempts: the publish would never return.
    pattern = "*a" * 30 + "*b"
    coord = MemoryCoordination()
    sub = await coord.pubsub.subscribe(patterns=[pattern])
    assert await coord.pubsub.publish("a" * 4_000, b"m") == 0
    assert await coord.pubsub.publish("a" * 4_000 + "b", b"m") == 1
    await sub.close()
    await coord.close()
