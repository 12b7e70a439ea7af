"""A ``tickets`` child process of a test, its output in a log file, killable with -9."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path


class ChildProcess:
    """What the scale-out and crash harnesses share: state, log and SIGKILL."""

    log_path: Path
    process: asyncio.subprocess.Process | None = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    async def kill(self) -> None:
        """kill -9: no hand-over, no goodbye, no lock released by hand, no flush."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()
