"""``tickets serve interceptor`` as a person runs it: a real process, tokens from the database."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
from pathlib import Path

import aiohttp

from emulation.discord import FakeDiscord
from standalone.interceptor.service import SECRET_HEADER, TENANT_HEADER
from tests.test_cli import ROOT, command_line, tickets

SECRET = "a-long-shared-secret"


def environment(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETS")}
    env.pop("DISCORD_TOKEN", None)
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def test_it_will_not_start_without_a_secret(tmp_path: Path):
    result = tickets("serve", "interceptor", "--listen", "127.0.0.1:0", cwd=tmp_path)
    assert result.returncode == 2
    assert "interceptor.secret" in result.stderr


def test_a_bad_listen_address_is_refused(tmp_path: Path):
    env = {"TICKETS__INTERCEPTOR__SECRET": SECRET}
    result = tickets("serve", "interceptor", "--listen", "nowhere", cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert "HOST:PORT" in result.stderr


async def test_it_proxies_with_the_tenants_stored_token_until_terminated(tmp_path: Path):
    async with FakeDiscord() as fd:
        app = fd.add_application("Support")
        env = {
            "TICKETS__INTERCEPTOR__SECRET": SECRET,
            "TICKETS__DISCORD__API_BASE": fd.api_base,
        }
        added = await asyncio.to_thread(
            tickets,
            "tenants",
            "add",
            "support",
            "--token",
            app.token,
            "--application-id",
            str(app.id),
            cwd=tmp_path,
            env=env,
        )
        assert added.returncode == 0, added.stderr
        # Popen returns at once; the waiting on it is done in threads below.
        process = subprocess.Popen(  # noqa: ASYNC220
            [*command_line(), "serve", "interceptor", "--listen", "127.0.0.1:0"],
            cwd=tmp_path,
            env=environment(env),
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert process.stderr is not None
            url = None
            while url is None:
                line = await asyncio.to_thread(process.stderr.readline)
                assert line, "the interceptor exited before listening"
                if found := re.search(r"listening on (http://[^\s\"]+)", line):
                    url = found[1]
            async with (
                aiohttp.ClientSession() as session,
                session.get(
                    f"{url}/api/v10/users/@me",
                    headers={SECRET_HEADER: SECRET, TENANT_HEADER: "support"},
                ) as response,
            ):
                assert response.status == 200
                assert (await response.json())["id"] == str(app.bot_user.id)
            process.send_signal(signal.SIGTERM)
            assert await asyncio.to_thread(process.wait, 30) == 0
            rest = await asyncio.to_thread(process.stderr.read)
            assert app.token not in rest  # the token is never logged
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def test_tickets_config_hides_the_secret(tmp_path: Path):
    result = tickets("config", cwd=tmp_path, env={"TICKETS__INTERCEPTOR__SECRET": SECRET})
    assert result.returncode == 0, result.stderr
    assert SECRET not in result.stdout
    assert '"secret": "********"' in result.stdout
