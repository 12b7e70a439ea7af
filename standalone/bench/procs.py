"""Child processes of the benchmark: ``python -m standalone …`` (the ``tickets`` command)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
STOP_TIMEOUT_S = 30.0


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This environment without the bot's own settings, so only the config file counts."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("TICKETS") and k != "DISCORD_TOKEN"
    }
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra or {})
    return env


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def proc_status(pid: int, field: str) -> int:
    """A ``/proc/PID/status`` figure in KiB (VmRSS: resident now, VmHWM: its peak)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for process {pid}")


def rss_kib(pid: int) -> int:
    return proc_status(pid, "VmRSS")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, as ``/proc/loadavg`` gives them."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


class CliProcess:
    """``tickets ARGS`` (``python -m standalone``) in ``cwd``, logging to a file there."""

    def __init__(self, name: str, args: list[str], cwd: Path) -> None:
        self.name = name
        self.args = args
        self.cwd = cwd
        self.log_path = cwd / f"{name}.log"
        self.process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "standalone",
                *self.args,
                cwd=self.cwd,
                env=child_env(),
                stdout=log,
                stderr=log,
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def check(self) -> None:
        """Raise with the end of its log if it ended."""
        if self.process is not None and self.process.returncode is not None:
            raise RuntimeError(
                f"{self.name} exited with {self.process.returncode}:\n{self.log()[-3000:]}"
            )

    async def wait_for_log(self, needle: str, timeout: float = 60) -> str:  # noqa: ASYNC109
        """The first log line containing ``needle``, once the process wrote it."""
        async with asyncio.timeout(timeout):
            while True:
                for line in self.log().splitlines():
                    if needle in line:
                        return line
                self.check()
                await asyncio.sleep(0.05)

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not end in time."""
        if not self.running:
            return
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
