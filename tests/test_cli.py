"""The ``tickets`` command as a person runs it: real processes, real files."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def command_line() -> list[str]:
    """The installed console script, or what it runs when running from a checkout."""
    script = shutil.which("tickets")
    return [script] if script else [sys.executable, "-m", "standalone"]


def tickets(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60):
    command = command_line()
    environ = {
        k: v for k, v in os.environ.items() if not k.startswith("TICKETS") and k != "DISCORD_TOKEN"
    }
    environ["PYTHONPATH"] = str(ROOT)
    environ.update(env or {})
    return subprocess.run(
        [*command, *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_run_without_a_token_exits_2_and_says_what_to_set(tmp_path):
    result = tickets("run", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "no bot token" in result.stderr and "DISCORD_TOKEN" in result.stderr


def test_invalid_config_stops_start_up_naming_the_key(tmp_path):
    (tmp_path / "tickets.toml").write_text('[database]\nurl = "postgres://db"\n')
    result = tickets("run", cwd=tmp_path, env={"DISCORD_TOKEN": "x"})
    assert result.returncode == 2
    assert "database.url" in result.stderr and "postgres" in result.stderr
    assert not (tmp_path / "data").exists()  # nothing was written


def test_tenants_add_list_remove(tmp_path):
    token = "MTIzNDU2Nzg5MDEyMzQ1Njc4.abc.def"  # base64 of 123456789012345678
    added = tickets("tenants", "add", "support", "--token", token, cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    assert "application 123456789012345678" in added.stdout
    key_file = tmp_path / "data" / "secret.key"
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert token.encode() not in b"".join(
        p.read_bytes() for p in (tmp_path / "data").rglob("*") if p.is_file()
    )

    listed = tickets("tenants", "list", cwd=tmp_path)
    assert "support" in listed.stdout and token not in listed.stdout
    duplicate = tickets("tenants", "add", "support", "--token", token, cwd=tmp_path)
    assert duplicate.returncode == 2 and "already exists" in duplicate.stderr
    bad = tickets("tenants", "add", "Bad Name", "--token", token, cwd=tmp_path)
    assert bad.returncode == 2 and "invalid tenant name" in bad.stderr

    removed = tickets("tenants", "remove", "support", cwd=tmp_path)
    assert removed.returncode == 0
    assert "no tenants yet" in tickets("tenants", "list", cwd=tmp_path).stdout
    assert tickets("tenants", "remove", "support", cwd=tmp_path).returncode == 1


def test_config_prints_with_secrets_hidden(tmp_path):
    result = tickets("config", cwd=tmp_path, env={"DISCORD_TOKEN": "very-secret"})
    assert result.returncode == 0
    assert "very-secret" not in result.stdout and "********" in result.stdout
    assert "surrealkv://data/db" in result.stdout


@pytest.mark.timeout(180)
def test_demo_exits_0_and_leaves_a_transcript(tmp_path):
    result = tickets("demo", "--data-dir", str(tmp_path / "demo"), cwd=tmp_path, timeout=150)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "10. Ticket #1 closed" in result.stdout
    path = Path(result.stdout.strip().splitlines()[-1].split("Transcript: ", 1)[1])
    assert path.is_file() and "order #1234" in path.read_text()


async def test_a_changed_discord_token_replaces_the_stored_one():
    from cryptography.fernet import Fernet

    from standalone.cli_run import adopt_token
    from standalone.crypto import Cipher
    from standalone.db import open_database
    from standalone.db.tenants import TenantRepository

    db = await open_database("mem://")
    try:
        tenants = TenantRepository(db, Cipher(Fernet.generate_key()))
        await adopt_token(tenants, "MTIzNDU2.old.token")
        await adopt_token(tenants, "MTIzNDU2.new.token")
        (tenant,) = await tenants.list()
        assert (tenant.name, tenant.application_id) == ("default", "123456")
        assert tenants.token(tenant) == "MTIzNDU2.new.token"
    finally:
        await db.close()


def test_demo_refuses_to_wipe_a_folder_it_did_not_make(tmp_path):
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.txt").write_text("years of work")
    result = tickets("demo", "--data-dir", str(precious), cwd=tmp_path)
    assert result.returncode == 1
    assert "not made by the demo" in result.stderr
    assert (precious / "thesis.txt").read_text() == "years of work"


def test_db_backup_of_a_versioned_database_is_point_in_time(tmp_path):
    versioned = {"TICKETS__DATABASE__URL": "surrealkv+versioned://data/db"}
    token = "MTIzNDU2Nzg5MDEyMzQ1Njc4.abc.def"
    added = tickets("tenants", "add", "support", "--token", token, cwd=tmp_path, env=versioned)
    assert added.returncode == 0, added.stderr
    made = tickets("db", "backup", "--key", "_backups/v.tkb", cwd=tmp_path, env=versioned)
    assert made.returncode == 0, made.stderr
    assert "backed up 1 records (schema version" in made.stdout
    assert "point-in-time" in made.stdout and "stop the bot" not in made.stderr


def test_db_backup_and_restore_into_a_new_database(tmp_path):
    token = "MTIzNDU2Nzg5MDEyMzQ1Njc4.abc.def"
    assert tickets("tenants", "add", "support", "--token", token, cwd=tmp_path).returncode == 0

    made = tickets("db", "backup", "--key", "_backups/first.tkb", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert "backed up 1 records" in made.stdout and "_backups/first.tkb" in made.stdout
    # No other process can open the embedded file meanwhile: a copy of one moment.
    assert "point-in-time" in made.stdout and "stop the bot" not in made.stderr
    assert "backing up" in made.stderr  # the progress bar
    assert (tmp_path / "data" / "objects" / "_backups" / "first.tkb").stat().st_size > 0
    listed = tickets("db", "list", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.startswith("_backups/first.tkb\t") and "1 records" in listed.stdout

    other = {"TICKETS__DATABASE__URL": "surrealkv://data/other"}
    restored = tickets("db", "restore", "_backups/first.tkb", cwd=tmp_path, env=other)
    assert restored.returncode == 0, restored.stderr
    assert "restored 1 records" in restored.stdout
    tenants = tickets("tenants", "list", cwd=tmp_path, env=other)
    assert tenants.stdout.startswith("support\tapplication 123456789012345678"), tenants.stderr

    again = tickets("db", "restore", "_backups/first.tkb", cwd=tmp_path, env=other)
    assert again.returncode == 2
    assert "not empty: tenant (1)" in again.stderr and "--force" in again.stderr
    forced = tickets("db", "restore", "_backups/first.tkb", "--force", cwd=tmp_path, env=other)
    assert forced.returncode == 0, forced.stderr
    assert "replaced are backed up to _backups/first.tkb.replaced-" in forced.stderr

    missing = tickets("db", "restore", "_backups/none.tkb", cwd=tmp_path, env=other)
    assert missing.returncode == 2
    assert "could not read the backup '_backups/none.tkb'" in missing.stderr


HOLD_DATABASE = """
import asyncio, sys
from standalone.db import open_database

async def main():
    db = await open_database(sys.argv[1])
    print("open", flush=True)
    sys.stdin.readline()
    await db.close()

asyncio.run(main())
"""


def test_db_commands_refuse_a_database_another_process_has_open(tmp_path):
    token = "MTIzNDU2Nzg5MDEyMzQ1Njc4.abc.def"
    assert tickets("tenants", "add", "support", "--token", token, cwd=tmp_path).returncode == 0
    made = tickets("db", "backup", "--key", "_backups/b.tkb", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    environ = {**os.environ, "PYTHONPATH": str(ROOT)}
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_DATABASE, f"surrealkv://{tmp_path}/data/db"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=environ,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        for args in (("db", "backup"), ("db", "restore", "_backups/b.tkb", "--force")):
            refused = tickets(*args, cwd=tmp_path)
            assert refused.returncode == 2, refused.stderr
            assert f"is open in process {holder.pid}" in refused.stderr
            assert "stop that process first" in refused.stderr
        listed = tickets("tenants", "list", cwd=tmp_path)
        assert listed.returncode == 2 and "is open in process" in listed.stderr
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.close()
        holder.wait(timeout=30)
    # Once that process is gone, the lock goes with it and the data is untouched.
    assert tickets("tenants", "list", cwd=tmp_path).stdout.startswith("support\t")
