"""Real ``tickets emulation serve`` processes for the Unix adapter's tests."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETS")}
    env["PYTHONPATH"] = str(ROOT)
    return env


class ServerProcess:
    """``python -m cli emulation serve`` as a child process."""

    def __init__(self, socket: Path, *args: str) -> None:
        self.socket = socket
        self.args = args
        self.process: asyncio.subprocess.Process | None = None

    async def start(self, timeout: float = 20) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "cli",
            "emulation",
            "serve",
            "--socket",
            str(self.socket),
            *self.args,
            env=child_env(),
            stderr=asyncio.subprocess.PIPE,
        )
        assert self.process.stderr is not None
        # The server says so on stderr once it listens.
        line = await asyncio.wait_for(self.process.stderr.readline(), timeout)
        assert line.startswith(b"serving unix://"), line

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> int:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.process.wait(), 20)
