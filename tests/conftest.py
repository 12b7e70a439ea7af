"""Session-wide reporting."""

from __future__ import annotations

from typing import Any

from tests.fuzzing import CASES


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if CASES:
        terminalreporter.write_line(
            f"fuzz cases: {sum(CASES.values())} in all ("
            + ", ".join(f"{name} {n}" for name, n in sorted(CASES.items()))
            + ")"
        )
