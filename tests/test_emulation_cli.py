"""``tickets run`` with a shared coordination server, as a person runs it."""

from __future__ import annotations

from pathlib import Path

from tests.test_cli import tickets


def test_run_says_why_it_cannot_serve_coordination(tmp_path: Path) -> None:
    blocker = tmp_path / "coord.sock"
    blocker.write_text("a file, not a socket")
    done = tickets(
        "run",
        cwd=tmp_path,
        env={
            "TICKETS__COORDINATION__URL": f"unix://{blocker}",
            "TICKETS__COORDINATION__SERVE": "true",
            "DISCORD_TOKEN": "MTIzNDU2Nzg5MDEyMzQ1Njc4.x.y",
        },
    )
    assert done.returncode == 1, done.stderr
    assert "coordination.serve: cannot serve" in done.stderr
    assert "exists and is not a socket" in done.stderr
    assert blocker.read_text() == "a file, not a socket"


def test_run_says_when_the_coordination_server_is_missing(tmp_path: Path) -> None:
    done = tickets(
        "run",
        cwd=tmp_path,
        env={
            "TICKETS__COORDINATION__URL": f"unix://{tmp_path / 'nobody.sock'}",
            "DISCORD_TOKEN": "MTIzNDU2Nzg5MDEyMzQ1Njc4.x.y",
        },
    )
    assert done.returncode == 1, done.stderr
    assert "cannot reach the coordination server" in done.stderr
