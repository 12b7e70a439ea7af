"""An embedded database folder belongs to one process at a time."""

from __future__ import annotations

import asyncio
import contextlib
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


async def test_a_symlink_to_the_folder_finds_the_same_lock(tmp_path):
    # A data folder is often reached by a link (/srv/data -> /mnt/disk/data);
    # the lock beside the link was another lock, and two engines ran on one folder.
    child = hold(f"surrealkv://{tmp_path}/db")
    try:
        (tmp_path / "alias").symlink_to(tmp_path / "db", target_is_directory=True)
        with pytest.raises(DatabaseError, match=rf"is open in process {child.pid}"):
            await open_database(f"surrealkv://{tmp_path}/alias")
    finally:
        child.kill()
        child.wait(timeout=30)


def _open_fds_to(path: Path) -> list[str]:
    fds = Path("/proc/self/fd")
    targets = []
    for fd in fds.iterdir():
        with contextlib.suppress(OSError):
            targets.append(os.readlink(fd))
    return [t for t in targets if t.startswith(str(path))]


@pytest.mark.parametrize("odd", ["directory", "fifo"])
async def test_a_lock_file_that_cannot_be_used_is_a_clear_error_and_holds_nothing(tmp_path, odd):
    # A directory cannot be opened for writing; a FIFO opens and locks but cannot
    # take the pid. Either was an OSError out of open_database, and the FIFO's
    # descriptor stayed open, holding the lock until the process exited.
    lock = lock_path(tmp_path / "db")
    if odd == "directory":
        lock.mkdir()
    else:
        os.mkfifo(lock)
    with pytest.raises(DatabaseError, match=rf"cannot (open|write) {lock} to lock the database"):
        await open_database(f"surrealkv://{tmp_path}/db")
    assert _open_fds_to(lock) == []
