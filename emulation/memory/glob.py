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


@lru_cache(maxsize=1024)
def compile_glob(pattern: str) -> re.Pattern[str]:
    """A regex that matches exactly the names Valkey's glob ``pattern`` matches."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "*":
            while i < n and pattern[i] == "*":
                i += 1
            out.append(".*")
            continue
        if c == "?":
            out.append(".")
        elif c == "[":
            part, i = _class(pattern, i + 1)
            out.append(part)
            continue
        elif c == "\\" and i + 1 < n:
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def glob_match(pattern: str, name: str) -> bool:
    """True when ``name`` matches the Valkey glob ``pattern``."""
    return compile_glob(pattern).fullmatch(name) is not None
