"""How the database server listens: ``host:port`` as ``database.listen`` and ``tickets db
serve --listen`` take it, and the largest request it reads.

Apart from the server itself, so the command line can show them without loading it.
"""

from __future__ import annotations

import ipaddress

# Requests larger than this close the connection (1009), as a SurrealDB server does.
DEFAULT_MAX_FRAME = 16 << 20


def parse_listen(value: str) -> tuple[str, int]:
    """Split ``127.0.0.1:8000`` or ``[::1]:8000``; port 0 picks a free one."""
    host, sep, port_text = value.rpartition(":")
    if not sep or not host:
        raise ValueError(f"{value!r} is not host:port (for example 127.0.0.1:8000)")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(f"{value!r}: the port must be a number from 0 to 65535")
    return host, int(port_text)


def is_loopback(host: str) -> bool:
    """True when only this machine can reach ``host``."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
