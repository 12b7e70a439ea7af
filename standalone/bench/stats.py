"""Latency samples and their percentiles."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


def percentile(samples: list[float], p: float) -> float:
    """Nearest-rank percentile (``p`` in 0 to 100) of non-empty samples."""
    ordered = sorted(samples)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Latencies:
    """Milliseconds from a member's action to the bot's answer, and what went unanswered."""

    name: str
    samples: list[float] = field(default_factory=list)
    sent: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def answered(self) -> int:
        return len(self.samples)

    def p(self, q: float) -> float | None:
        return percentile(self.samples, q) if self.samples else None
