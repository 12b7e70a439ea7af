"""One process at a time on an embedded database file.

Two processes that open the same ``surrealkv://`` folder each run their own
engine on it and see diverging data (a restore done beside a running bot is
invisible to it; two ``tickets run`` would hand out the same ticket numbers).
The first process to open the folder holds an advisory lock beside it; others
get a clear error. Opens inside one process share the lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from dataclasses import dataclass
from pathlib import Path


class LockError(Exception):
    """The lock beside an embedded database cannot be taken; the message says why."""


class DatabaseInUse(LockError):
    """Another process has this embedded database open."""


@dataclass
class _Held:
    fd: int
    users: int


_held: dict[Path, _Held] = {}


def lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


def acquire(database: Path) -> Path:
    """Take (or share, within this process) the lock of ``database``; returns its key."""
    # Resolved first, so a symlink to the folder finds the same lock as the folder.
    path = lock_path(database.resolve())
    if (held := _held.get(path)) is not None:
        held.users += 1
        return path
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise LockError(f"cannot open {path} to lock the database {database}: {exc}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        owner = _read_owner(fd)
        os.close(fd)
        who = f"process {owner}" if owner else "another process"
        raise DatabaseInUse(
            f"the database {database} is open in {who}; stop that process first "
            "(for example the running bot), or use a database server (ws://) to "
            "share one database between processes"
        ) from None
    except BaseException:
        os.close(fd)
        raise
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
    except OSError as exc:
        # Not kept half-taken: an fd nobody tracks would hold the lock until exit.
        os.close(fd)
        raise LockError(f"cannot write {path} to lock the database {database}: {exc}") from None
    _held[path] = _Held(fd, 1)
    return path


def release(key: Path) -> None:
    """Give up one use of the lock; the last use unlocks it."""
    held = _held.get(key)
    if held is None:
        return
    held.users -= 1
    if held.users > 0:
        return
    del _held[key]
    with contextlib.suppress(OSError):
        os.ftruncate(held.fd, 0)
    os.close(held.fd)  # closing the descriptor drops the flock


def _read_owner(fd: int) -> str:
    with contextlib.suppress(OSError):
        return os.pread(fd, 32, 0).decode(errors="replace").strip()
    return ""
