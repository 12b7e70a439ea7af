"""``tickets tenants set-oauth`` and ``tickets serve-http`` as a person runs them."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

from standalone.crypto import load_cipher
from standalone.db import open_database
from standalone.db.tenants import TenantRepository
from tests.test_cli import ROOT, command_line, tickets

TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.abc.def"  # base64 of 123456789012345678
DEADLINE_S = 30.0
# Becomes ["serve", "http"] once the serve sub-app (cli_serve) is merged.
SERVE_HTTP = ["serve", "http"]


def test_set_oauth_stores_the_secret_encrypted(tmp_path: Path):
    assert tickets("tenants", "add", "support", "--token", TOKEN, cwd=tmp_path).returncode == 0
    result = tickets("tenants", "set-oauth", "support", "--client-secret", "s3cret", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "client id 123456789012345678" in result.stdout
    assert "/t/support/auth/callback" in result.stdout
    missing = tickets("tenants", "set-oauth", "nobody", "--client-secret", "x", cwd=tmp_path)
    assert missing.returncode == 2 and "no tenant named 'nobody'" in missing.stderr
    empty = tickets("tenants", "set-oauth", "support", "--client-secret", " ", cwd=tmp_path)
    assert empty.returncode == 2 and "empty" in empty.stderr

    async def stored() -> tuple[str | None, str | None]:
        db = await open_database(f"surrealkv://{tmp_path / 'data' / 'db'}")
        try:
            repo = TenantRepository(db, load_cipher(tmp_path / "data" / "secret.key"))
            tenant = await repo.get("support")
            assert tenant is not None
            return tenant.oauth_secret, repo.oauth_secret(tenant)
        finally:
            await db.close()

    raw, plain = asyncio.run(stored())
    assert plain == "s3cret" and raw is not None and "s3cret" not in raw


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_http_answers_until_sigterm(tmp_path: Path):
    port = _free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TICKETS")}
    environ.update(
        PYTHONPATH=str(ROOT),
        TICKETS__HTTP__LISTEN=f"127.0.0.1:{port}",
        TICKETS__DATABASE__URL="mem://",
        TICKETS__STORAGE__URL=f"file://{tmp_path / 'objects'}",
    )
    proc = subprocess.Popen(
        [*command_line(), *SERVE_HTTP], cwd=tmp_path, env=environ, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + DEADLINE_S
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz") as resp:
                    assert resp.status == 200
                    break
            except OSError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.monotonic() < deadline, "serve-http did not answer"
                time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=DEADLINE_S) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
