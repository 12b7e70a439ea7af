"""Durations people type (``2d``, ``1h30m``, ``off``) and how the bot writes them back."""

from __future__ import annotations

import re

_UNITS = {"w": 604_800_000, "d": 86_400_000, "h": 3_600_000, "m": 60_000, "s": 1_000}
_PART = re.compile(r"(\d{1,6})\s*([wdhms])")
OFF = {"off", "none", "never", "0"}


class BadDuration(ValueError):
    """Text that is not a duration; the message says what is expected."""


def parse_ms(text: str) -> int | None:
    """Milliseconds for ``text``; None for ``off``. Raises BadDuration."""
    cleaned = text.strip().lower().replace(" ", "")
    if cleaned in OFF:
        return None
    pos, total = 0, 0
    for match in _PART.finditer(cleaned):
        if match.start() != pos:
            break
        total += int(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if not cleaned or pos != len(cleaned) or total <= 0:
        raise BadDuration(
            f"{text!r} is not a duration; write it like 30m, 12h, 2d or 1h30m (or off)"
        )
    return total


def format_ms(ms: int | None) -> str:
    """``1d 2h``-style text, at most two units; ``off`` for None."""
    if ms is None:
        return "off"
    parts: list[str] = []
    rest = ms
    for unit, size in _UNITS.items():
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{count}{unit}")
        if len(parts) == 2:
            break
    return " ".join(parts) or "0s"
