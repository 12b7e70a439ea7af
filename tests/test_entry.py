"""The ``tickets`` entry point: a plain ``tickets run`` starts without the CLI framework.

Whatever an idle bot imports stays in its memory (issue 9: 80 MB with one tenant),
so the modules only other commands or options need must not be among them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from standalone.entry import plain_run

ROOT = Path(__file__).resolve().parent.parent

# What `tickets run` on the defaults imports before its first tenant starts.
IDLE_BOT = """
import sys
import standalone.entry, standalone.cli_run, standalone.services.aio, standalone.tenant_app
print("\\n".join(sorted(sys.modules)))
"""
# Top-level names, or dotted prefixes, an idle bot on the defaults never needs.
NOT_LOADED = [
    "typer",  # the command line, and through it pydantic and rich
    "pydantic",
    "rich",
    "requests",  # the SurrealDB SDK's HTTP clients
    "regex",  # auto-reply patterns, loaded with the first one
    "aiohttp.web",  # servers: /metrics, the dashboard, the interceptor
    "standalone.http",
    "standalone.interceptor.service",
    "standalone.observability.exposition",
    "standalone.db.server",  # database.serve
    "emulation.unix",  # coordination.serve
    "standalone.bench",  # other commands
    "emulation.discord",
    "standalone.portability",
    "standalone.db.backup",
    "cli",
]


@pytest.mark.parametrize(
    ("args", "config"),
    [
        (["run"], None),
        (["run", "--config", "t.toml"], Path("t.toml")),
        (["run", "-c", "t.toml"], Path("t.toml")),
        (["run", "--config=t.toml"], Path("t.toml")),
    ],
)
def test_a_plain_run_is_started_directly(args: list[str], config: Path | None) -> None:
    plain = plain_run(args)
    assert plain is not None and plain.config == config


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--help"],
        ["run", "--help"],
        ["run", "--config"],
        ["run", "--config", "--help"],
        ["run", "--config="],
        ["run", "-c", "a.toml", "-c", "b.toml"],
        ["run", "extra"],
        ["serve", "worker"],
        ["demo"],
    ],
)
def test_anything_else_goes_to_typer(args: list[str]) -> None:
    assert plain_run(args) is None


def test_an_idle_bot_loads_none_of_the_optional_code() -> None:
    result = subprocess.run(
        [sys.executable, "-c", IDLE_BOT],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    loaded = set(result.stdout.split())
    found = sorted(
        name
        for name in loaded
        for unwanted in NOT_LOADED
        if name == unwanted or name.startswith(unwanted + ".")
    )
    assert found == []


def test_typer_answers_what_is_not_a_plain_run(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "standalone", "run", "--help"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "--config" in result.stdout and "Run the bot" in result.stdout
