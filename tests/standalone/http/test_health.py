"""/healthz, /readyz and /metrics, and the headers every response carries."""

from __future__ import annotations

import socket

import aiohttp

from standalone.http.service import HttpService
from standalone.services.aio import open_backends

from .conftest import Portal, http_config


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_health_ready_and_metrics(portal: Portal):
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{portal.base}/healthz") as resp:
            assert resp.status == 200 and await resp.json() == {"status": "ok"}
        async with session.get(f"{portal.base}/readyz") as resp:
            body = await resp.json()
            assert resp.status == 200, body
        assert body["ready"] is True
        assert [c["name"] for c in body["checks"]] == ["database", "storage", "coordination"]
        async with session.get(f"{portal.base}/t/red/api/users/@me") as resp:
            assert resp.status == 401
        async with session.get(f"{portal.base}/metrics") as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"].startswith("text/plain")
            text = await resp.text()
    assert (
        'tickets_http_requests_total{method="GET",route="/t/{tenant}/api/users/@me",'
        'status="401"} 1.0' in text
    )
    assert "tickets_http_request_seconds_bucket" in text
    assert "process_resident_memory_bytes" in text  # the process-wide collectors too


async def test_readyz_says_which_backend_is_down(tmp_path, discord):
    # An S3 store on a port nobody listens on: storage is down, the rest is up.
    config = http_config(
        tmp_path,
        discord,
        TICKETS__STORAGE__URL=f"s3://bucket?endpoint=http://127.0.0.1:{closed_port()}"
        "&region=us-east-1&path_style=true",
        TICKETS__STORAGE__ACCESS_KEY_ID="x",
        TICKETS__STORAGE__SECRET_ACCESS_KEY="y",
    )
    backends = await open_backends(config)
    service = HttpService(config, backends)
    await service.start()
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{service.url}/readyz") as resp:
                body = await resp.json()
                assert resp.status == 503
            async with session.get(f"{service.url}/healthz") as resp:
                assert resp.status == 200  # alive, only not ready
    finally:
        await service.stop()
        await backends.close()
    assert body["ready"] is False
    checks = {c["name"]: c["ok"] for c in body["checks"]}
    assert checks == {"database": True, "storage": False, "coordination": True}
    assert next(c["error"] for c in body["checks"] if c["name"] == "storage")


async def test_every_response_has_security_headers(portal: Portal):
    async with aiohttp.ClientSession() as session:
        for path in ("/healthz", "/t/red/api/users/@me", "/nowhere"):
            async with session.get(f"{portal.base}{path}") as resp:
                assert resp.headers["X-Content-Type-Options"] == "nosniff"
                assert resp.headers["X-Frame-Options"] == "DENY"
                assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
        async with session.get(f"{portal.base}/nowhere") as resp:
            assert resp.status == 404
            assert (await resp.json())["error"]["status"] == 404
