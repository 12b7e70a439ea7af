"""Valkey's glob patterns (``stringmatchlen``), for pattern subscriptions.

Not ``fnmatch``: Valkey negates a class with ``^`` (``!`` is an ordinary
character), lets a backslash escape the next character inside and outside a
class, and accepts reversed ranges (``[z-a]``). A subscriber must match the
same channels here as it would on Valkey.
"""

from __future__ import annotations

import re
from functools import lru_cache


def _class(pattern: str, i: int) -> tuple[str, int]:
    """The regex for the class starting after ``[`` at ``i``, and where it ends."""
    n = len(pattern)
    negate = i < n and pattern[i] == "^"
    if negate:
        i += 1
    parts: list[str] = []
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            parts.append(re.escape(pattern[i + 1]))
            i += 2
        elif c == "]":
            i += 1
            break
        elif i + 2 < n and pattern[i + 1] == "-":
            # Like Valkey, the end of a range may be a "]" ("[a-]" runs to "]").
            low, high = sorted((c, pattern[i + 2]))
            parts.append(f"{re.escape(low)}-{re.escape(high)}")
            i += 3
        else:
            parts.append(re.escape(c))
            i += 1
    # An unclosed class ends with the pattern, as in Valkey.
    if not parts:
        return ("." if negate else "(?!)"), i
    return f"[{'^' if negate else ''}{''.join(parts)}]", i


class Glob:
    """A compiled pattern: the fixed-length pieces between its ``*`` runs.

    Matching one regex with a ``.*`` per star backtracks: ``*a*a*a…*b`` against
    a long run of ``a`` takes time growing with a power of its length, and one
    such subscription would stall the server for every client (Valkey fixed the
    same hole in ``stringmatchlen``, CVE-2022-36021). Pieces of fixed length
    placed leftmost first never need to be moved back, so each is searched for
    once: the time is at most the name's length times the pattern's.
    """

    def __init__(self, pieces: list[list[str]], starred: bool) -> None:
        def compiled(tokens: list[str]) -> tuple[re.Pattern[str], int]:
            return re.compile("".join(tokens), re.DOTALL), len(tokens)

        self._head = compiled(pieces[0])
        self._starred = starred
        self._tail = compiled(pieces[-1]) if starred else None
        self._middle = [compiled(piece) for piece in pieces[1:-1]]

    def matches(self, name: str) -> bool:
        head, head_len = self._head
        if self._tail is None:
            return head.fullmatch(name) is not None
        tail, tail_len = self._tail
        end = len(name) - tail_len
        if end < head_len or head.match(name, 0, head_len) is None:
            return False
        if tail.fullmatch(name, end) is None:
            return False
        pos = head_len
        for piece, _ in self._middle:
            found = piece.search(name, pos, end)
            if found is None:
                return False
            pos = found.end()
        return True


@lru_cache(maxsize=1024)
def compile_glob(pattern: str) -> Glob:
    """The matcher for exactly the names Valkey's glob ``pattern`` matches."""
    # Each token matches one character; a run of stars splits the pieces.
    pieces: list[list[str]] = [[]]
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "*":
            while i < n and pattern[i] == "*":
                i += 1
            pieces.append([])
            continue
        if c == "?":
            pieces[-1].append(".")
        elif c == "[":
            part, i = _class(pattern, i + 1)
            pieces[-1].append(part)
            continue
        elif c == "\\" and i + 1 < n:
            i += 1
            pieces[-1].append(re.escape(pattern[i]))
        else:
            pieces[-1].append(re.escape(c))
        i += 1
    return Glob(pieces, starred=len(pieces) > 1)


def glob_match(pattern: str, name: str) -> bool:
    """True when ``name`` matches the Valkey glob ``pattern``."""
    return compile_glob(pattern).matches(name)
