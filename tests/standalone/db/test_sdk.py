"""The SurrealDB SDK as the bot loads it: its async clients only, the rest on first use."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

CHECK = """
import sys
import standalone.db
from standalone.db import sdk
assert "requests" not in sys.modules, "the SDK's HTTP clients were loaded"
import surrealdb
from surrealdb import AsyncSurreal, RecordID  # runs the SDK's own __init__ now
assert RecordID is sdk.RecordID
assert type(AsyncSurreal("mem://")) is sdk.AsyncEmbeddedSurrealConnection
assert surrealdb.AsyncWsSurrealConnection is sdk.AsyncWsSurrealConnection
print("ok")
"""


def test_the_sdk_loads_its_clients_only_then_all_of_it_on_first_use() -> None:
    # A process of its own: this one has imported the whole SDK already.
    result = subprocess.run(
        [sys.executable, "-c", CHECK],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_each_url_gets_the_sdk_client_for_its_scheme() -> None:
    from standalone.db import sdk

    assert isinstance(sdk.client_for("mem://"), sdk.AsyncEmbeddedSurrealConnection)
    assert isinstance(sdk.client_for("ws://127.0.0.1:1"), sdk.AsyncWsSurrealConnection)
