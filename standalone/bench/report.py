"""The benchmark's table: each figure, its target, and whether it was met."""

from __future__ import annotations

import msgspec
from rich.console import Console
from rich.table import Table

PASS, MISS, NONE = "pass", "miss", "—"


class Row(msgspec.Struct, kw_only=True):
    metric: str
    figure: str
    target: str = ""
    result: str = NONE
    answered: str = ""  # "answered/sent" where members waited for something
    loadavg: str = ""


class Report(msgspec.Struct, kw_only=True):
    mode: str
    coordination: str
    command: str
    rows: list[Row] = msgspec.field(default_factory=list)

    def add(
        self,
        metric: str,
        figure: str,
        *,
        target: str = "",
        met: bool | None = None,
        answered: str = "",
        loadavg: str = "",
    ) -> None:
        result = NONE if met is None else PASS if met else MISS
        self.rows.append(
            Row(
                metric=metric,
                figure=figure,
                target=target,
                result=result,
                answered=answered,
                loadavg=loadavg,
            )
        )

    def markdown(self) -> str:
        lines = [
            "| metric | figure | target | result | answered | load average |",
            "|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {r.metric} | {r.figure} | {r.target} | {r.result} | {r.answered} | {r.loadavg} |"
            for r in self.rows
        ]
        return "\n".join(lines)

    def print(self, console: Console) -> None:
        table = Table(title=f"tickets bench load: {self.mode}, coordination {self.coordination}")
        for column in ("metric", "figure", "target", "result", "answered", "load average"):
            table.add_column(column)
        colours = {PASS: "green", MISS: "red"}
        for r in self.rows:
            colour = colours.get(r.result)
            shown = f"[{colour}]{r.result}[/{colour}]" if colour else r.result
            table.add_row(r.metric, r.figure, r.target, shown, r.answered, r.loadavg)
        console.print(table)


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} ms"
