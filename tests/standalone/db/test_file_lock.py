"""An embedded database folder belongs to one process at a time."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from standalone.db import DatabaseError, open_database
from standalone.db.file_lock import lock_path

ROOT = Path(__file__).resolve().parents[3]

HOLD = """
import asyncio, sys
from standalone.db import open_database

async def main():
    await open_database(sys.argv[1])
    print("open", flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""


def hold(url: str) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD, url],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        text=True,
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "open"
    return child


async def test_a_second_process_is_refused_until_the_first_is_killed(tmp_path):
    url = f"surrealkv://{tmp_path}/db"
    child = hold(url)
    try:
        with pytest.raises(DatabaseError, match=rf"is open in process {child.pid}; stop"):
            await open_database(url)
    finally:
        child.send_signal(signal.SIGKILL)  # a crash frees the lock too: no stale lock file
        child.wait(timeout=30)
    db = await open_database(url)
    await db.close()


async def test_opens_in_one_process_share_the_lock_until_the_last_closes(tmp_path):
    url = f"surrealkv://{tmp_path}/db"
    first = await open_database(url)
    second = await open_database(url)
    await first.close()
    child = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", HOLD, url],
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        text=True,
        timeout=60,
        check=False,
    )
    assert "is open in process" in child.stderr  # the second open still holds it
    await second.close()
    assert lock_path(tmp_path / "db").read_text() == ""  # released, no owner left
    child = hold(url)
    child.kill()
    child.wait(timeout=30)
