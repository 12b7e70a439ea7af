"""The ``unix://`` adapter: the memory adapter served over a Unix socket to local processes."""

from __future__ import annotations

from emulation.unix.client import UnixCoordination
from emulation.unix.server import CoordinationServer

__all__ = ["CoordinationServer", "UnixCoordination"]
