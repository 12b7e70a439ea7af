"""Valkey's glob patterns (``stringmatchlen``), for pattern subscriptions.

Not ``fnmatch``: Valkey negates a class with ``^`` (``!`` is an ordinary
character), lets a backslash escape the next character inside and outside a
class, and accepts reversed ranges (``[z-a]``). A subscriber must match the
same channels here as it would on Valkey.

Valkey compares bytes, not characters: a channel is matched as its UTF-8 bytes,
so ``?`` takes one byte of an ``é`` and a class holds the bytes of its members.
Its range ends are C ``char``s, signed on the x86-64 and the Valkey these tests
run against, so a byte from 0x80 up sorts below every ASCII one. And its loop
never starts on an empty name: only the empty pattern matches the empty channel,
``*`` does not.
"""

from __future__ import annotations

import re
from functools import lru_cache

_ALL_BYTES = frozenset(range(256))


def _signed(byte: int) -> int:
    return byte - 256 if byte >= 128 else byte


def _byte_class(members: set[int]) -> bytes:
    if not members:
        return b"(?!)"
    return b"[" + b"".join(re.escape(bytes([b])) for b in sorted(members)) + b"]"


def _class(pattern: bytes, i: int) -> tuple[bytes, int]:
    """The regex for the class starting after ``[`` at ``i``, and where it ends."""
    n = len(pattern)
    negate = i < n and pattern[i] == ord("^")
    if negate:
        i += 1
    members: set[int] = set()
    while i < n:
        c = pattern[i]
        if c == ord("\\") and i + 1 < n:
            members.add(pattern[i + 1])
            i += 2
        elif c == ord("]"):
            i += 1
            break
        elif i + 2 < n and pattern[i + 1] == ord("-"):
            # Like Valkey, the end of a range may be a "]" ("[a-]" runs to "]").
            low, high = sorted((_signed(c), _signed(pattern[i + 2])))
            members.update(b for b in _ALL_BYTES if low <= _signed(b) <= high)
            i += 3
        else:
            members.add(c)
            i += 1
    # An unclosed class ends with the pattern, as in Valkey.
    return _byte_class(set(_ALL_BYTES - members) if negate else members), i


class Glob:
    """A compiled pattern: the fixed-length pieces between its ``*`` runs.

    Matching one regex with a ``.*`` per star backtracks: ``*a*a*a…*b`` against
    a long run of ``a`` takes time growing with a power of its length, and one
    such subscription would stall the server for every client (Valkey fixed the
    same hole in ``stringmatchlen``, CVE-2022-36021). Pieces of fixed length
    placed leftmost first never need to be moved back, so each is searched for
    once: the time is at most the name's length times the pattern's.
    """

    def __init__(self, pieces: list[list[bytes]], starred: bool, empty: bool) -> None:
        def compiled(tokens: list[bytes]) -> tuple[re.Pattern[bytes], int]:
            return re.compile(b"".join(tokens), re.DOTALL), len(tokens)

        self._head = compiled(pieces[0])
        self._starred = starred
        self._empty = empty
        self._tail = compiled(pieces[-1]) if starred else None
        self._middle = [compiled(piece) for piece in pieces[1:-1]]

    def matches(self, name: bytes) -> bool:
        if not name:
            return self._empty
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


def _bytes(text: str) -> bytes:
    # surrogatepass: a name no Valkey client could send still gets an answer.
    return text.encode("utf-8", "surrogatepass")


@lru_cache(maxsize=1024)
def compile_glob(pattern: str) -> Glob:
    """The matcher for exactly the names Valkey's glob ``pattern`` matches."""
    raw = _bytes(pattern)
    # Each token matches one byte; a run of stars splits the pieces.
    pieces: list[list[bytes]] = [[]]
    i, n = 0, len(raw)
    while i < n:
        c = raw[i]
        if c == ord("*"):
            while i < n and raw[i] == ord("*"):
                i += 1
            pieces.append([])
            continue
        if c == ord("?"):
            pieces[-1].append(b".")
        elif c == ord("["):
            part, i = _class(raw, i + 1)
            pieces[-1].append(part)
            continue
        elif c == ord("\\") and i + 1 < n:
            i += 1
            pieces[-1].append(re.escape(raw[i : i + 1]))
        else:
            pieces[-1].append(re.escape(raw[i : i + 1]))
        i += 1
    return Glob(pieces, starred=len(pieces) > 1, empty=not raw)


def glob_match(pattern: str, name: str) -> bool:
    """True when ``name`` matches the Valkey glob ``pattern``."""
    return compile_glob(pattern).matches(_bytes(name))
