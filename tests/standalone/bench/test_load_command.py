"""``tickets bench load`` end to end, briefly and slowly: the table's shape, every answer.

Speed is never asserted here (a loaded machine would fail it); what must hold is
that the command runs the bot as its own processes, loads it through the stand-in,
and that every interaction, ticket open and message got its answer.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from standalone.bench.procs import ROOT, child_env

pytestmark = pytest.mark.timeout(600)

SHORT = [
    "--rate",
    "6",
    "--duration",
    "2",
    "--opens-rate",
    "2",
    "--messages",
    "60",
    "--messages-rate",
    "200",
    "--tenants",
    "2",
]


def bench(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    report = tmp_path / "report.json"
    done = subprocess.run(  # our own CLI, fixed arguments
        [sys.executable, "-m", "cli", "bench", "load", *args, "--report", str(report)],
        cwd=ROOT,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done, json.loads(report.read_text())


def check_table(done: subprocess.CompletedProcess[str], table: dict) -> None:
    metrics = [row["metric"] for row in table["rows"]]
    expected = [
        "cold start to ready",
        "1 idle tenant",
        "2 idle tenants",
        "RSS per extra tenant",
        "/category list → reply",
        "panel button → form p50",
        "panel button → form (opens)",
        "form submit → callback",
        "every interaction → callback p99",
        "ticket open",
        "archived messages/s",
        "gateway events/s, messages phase",
        "bot CPU per event, messages phase",
        "after the load",
    ]
    for part in expected:
        assert any(part in metric for metric in metrics), (part, metrics)
    assert not any(m.startswith("failures") for m in metrics), table["rows"]
    answered = [row for row in table["rows"] if row["answered"]]
    assert len(answered) >= 7
    for row in answered:
        got, sent = (int(n) for n in row["answered"].split("/"))
        assert sent > 0 and got == sent, row
    for row in table["rows"]:
        if row["target"]:
            assert row["result"] in ("pass", "miss"), row
    # The same table is printed for people, with its command.
    for part in ("cold start to ready", "ticket open", "command: tickets bench load"):
        assert part in done.stdout


def test_aio_table_has_every_figure_and_every_answer(tmp_path: Path) -> None:
    done, table = bench(tmp_path, *SHORT)
    assert table["mode"] == "aio" and table["coordination"] == "memory"
    check_table(done, table)


def test_the_load_spread_over_several_bots_reaches_each(tmp_path: Path) -> None:
    _, table = bench(tmp_path, *SHORT, "--bots", "2", "--no-idle")
    assert not any(row["metric"].startswith("failures") for row in table["rows"]), table["rows"]
    for row in table["rows"]:
        if row["answered"]:
            got, sent = (int(n) for n in row["answered"].split("/"))
            assert sent > 0 and got == sent, row
    (spread,) = [r for r in table["rows"] if r["metric"].startswith("gateway events per load bot")]
    assert spread["metric"].endswith("(2 bots)")
    each = [int(n) for n in spread["figure"].split(" / ")]
    # Commands, clicks, opens and messages went to both bots, about evenly.
    assert len(each) == 2 and min(each) > 0.3 * max(each), each


@pytest.mark.scaleout
def test_multi_process_table_on_the_unix_socket(tmp_path: Path) -> None:
    done, table = bench(tmp_path, "--mode", "multi", "--coordination", "unix", *SHORT)
    assert table["mode"] == "multi" and table["coordination"] == "unix"
    check_table(done, table)


def refused(*args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(  # our own CLI, fixed arguments
        [sys.executable, "-m", "cli", "bench", "load", *args],
        cwd=ROOT,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    return done


def test_bad_options_are_refused_with_a_message() -> None:
    assert "--mode must be aio or multi" in refused("--mode", "threads").stderr
    assert "--bots must be at least 1" in refused("--bots", "0").stderr
