"""The database server as SurrealDB's SDK and a hostile client see it, over real sockets."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession
from surrealdb import Duration, RecordID
from surrealdb.data.cbor import decode, encode
from surrealdb.errors import ServerError
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.frames import CloseCode

from standalone.db import Database, DatabaseError, open_database, rpc
from standalone.db.server import Credentials, DatabaseServer
from tests.e2e.conftest import eventually
from tests.standalone.db.conftest import PASSWORD, USER, serving

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[DatabaseServer]:
    async with serving(tmp_path / "db") as running:
        yield running


@asynccontextmanager
async def raw(url: str) -> AsyncIterator[ClientConnection]:
    async with connect(f"{url}/rpc", subprotocols=["cbor"], max_size=None) as ws:  # type: ignore[list-item]
        yield ws


async def call(ws: ClientConnection, frame: bytes | str) -> dict[str, Any]:
    await ws.send(frame)
    answer = decode(await ws.recv())
    assert isinstance(answer, dict)
    return answer


def cbor(value: Any) -> bytes:
    return bytes(encode(value))


def request(method: str, *params: Any, id: Any = "r1") -> bytes:
    return bytes(encode({"id": id, "method": method, "params": list(params)}))


async def signed_in(ws: ClientConnection, namespace: str = "tickets") -> None:
    assert "result" in await call(ws, request("signin", {"user": USER, "pass": PASSWORD}))
    assert "result" in await call(ws, request("use", namespace, "main"))


async def client(server: DatabaseServer, **options: Any) -> Database:
    return await open_database(server.url, username=USER, password=PASSWORD, **options)


# --- what the SDK client sees -------------------------------------------------------


async def test_values_come_back_as_the_sdk_sent_them(db: Database) -> None:
    values = {
        "when": datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
        "price": Decimal("12.3400"),
        "ref": RecordID("ticket", "abc"),
        "blob": b"\x00\xff",
        "key": uuid.UUID("0192b6f0-0000-7000-8000-000000000001"),
        "nothing": None,
        "nested": {"list": [1, 2.5, "three", True]},
    }
    echoed = await db.one("RETURN $v;", {"v": values})
    assert echoed == values


async def test_a_failed_transaction_writes_nothing_and_names_the_cause(db: Database) -> None:
    await db.run("DEFINE TABLE probe SCHEMALESS;")
    with pytest.raises(DatabaseError, match="already exists"):
        await db.run("BEGIN; CREATE probe:1; CREATE probe:2; CREATE probe:1; COMMIT;")
    assert await db.one("SELECT VALUE id FROM probe;") == []
    await db.run("BEGIN; CREATE probe:1; CREATE probe:2; COMMIT;")
    assert await db.one("SELECT VALUE id FROM probe ORDER BY id;") == [
        RecordID("probe", 1),
        RecordID("probe", 2),
    ]


async def test_a_statement_that_does_not_parse_is_a_database_error(db: Database) -> None:
    with pytest.raises(DatabaseError, match="Parse error"):
        await db.run("SELECT FROM WHERE;")
    # The SDK writes a duration in a form its own engine cannot read.
    with pytest.raises(DatabaseError, match="decode"):
        await db.run("RETURN $d;", {"d": Duration.parse("1d")})
    assert await db.one("RETURN 1;") == 1  # the connection is still good


@pytest.mark.parametrize(
    ("username", "password"),
    [(USER, "wrong"), ("root", PASSWORD), (USER, PASSWORD[:-1]), (USER, PASSWORD + "x")],
)
async def test_wrong_credentials_are_refused(
    server: DatabaseServer, username: str, password: str
) -> None:
    with pytest.raises(ServerError, match="authentication"):
        await open_database(server.url, username=username, password=password)


async def test_without_credentials_nothing_is_read_or_written(server: DatabaseServer) -> None:
    with pytest.raises(DatabaseError, match="Not signed in"):
        await open_database(server.url)  # no sign-in: the migrations' first query is refused
    async with raw(server.url) as ws:
        assert "result" in await call(ws, request("use", "tickets", "main"))
        for method, params in [("query", ["SELECT * FROM tenant", {}]), ("let", ["x", 1])]:
            answer = await call(ws, request(method, *params))
            assert answer["error"]["code"] == rpc.NOT_ALLOWED, answer


async def test_a_session_signed_out_is_refused_again(server: DatabaseServer) -> None:
    async with raw(server.url) as ws:
        await signed_in(ws)
        assert "result" in await call(ws, request("query", "RETURN 1", {}))
        assert "result" in await call(ws, request("invalidate"))
        answer = await call(ws, request("query", "RETURN 1", {}))
        assert answer["error"]["code"] == rpc.NOT_ALLOWED
        await signed_in(ws)
        assert await call(ws, request("info")) == {"id": "r1", "result": None}
        assert "result" in await call(ws, request("reset"))
        answer = await call(ws, request("info"))
        assert answer["error"]["code"] == rpc.NOT_ALLOWED
        assert "result" in await call(ws, request("signin", {"user": USER, "pass": PASSWORD}))
        answer = await call(ws, request("query", "RETURN 1", {}))  # reset forgot the database
        assert "Specify a namespace" in answer["error"]["message"]


async def test_ping_and_version_need_no_sign_in(server: DatabaseServer) -> None:
    async with raw(server.url) as ws:
        assert await call(ws, request("ping")) == {"id": "r1", "result": None}
        version = await call(ws, request("version", id=7))
        assert version["id"] == 7 and version["result"].startswith("surrealdb-")


async def test_sessions_keep_their_own_namespace_database_and_variables(
    server: DatabaseServer,
) -> None:
    home = await client(server)
    away = await client(server, namespace="elsewhere", database="other", migrate_schema=False)
    try:
        # One result per statement: the USE the server puts in front is not shown.
        created = await away.run("CREATE probe:1 SET side = 'away'; SELECT VALUE side FROM probe;")
        assert created[1] == ["away"]
        assert await home.one("SELECT * FROM probe;") == []
        assert await away.one("SELECT VALUE side FROM probe;") == ["away"]
    finally:
        await away.close()
        await home.close()
    async with raw(server.url) as first, raw(server.url) as second:
        await signed_in(first)
        await signed_in(second, namespace="elsewhere")
        assert "result" in await call(first, request("let", "colour", "red"))
        assert "result" in await call(second, request("let", "$colour", "blue"))
        for ws, colour in ((first, "red"), (second, "blue")):
            answer = await call(ws, request("query", "RETURN $colour", {}))
            assert answer["result"][0]["result"] == colour
        # The query's own variables win over the session's.
        answer = await call(first, request("query", "RETURN $colour", {"colour": "green"}))
        assert answer["result"][0]["result"] == "green"
        assert "result" in await call(first, request("unset", "colour"))
        answer = await call(first, request("query", "RETURN $colour", {}))
        assert answer["result"][0]["result"] is None


async def test_values_come_back_the_same_from_another_namespace(server: DatabaseServer) -> None:
    # There the server decodes the engine's answer (to drop its USE) and encodes it again.
    home = await client(server)
    away = await client(server, namespace="elsewhere", database="other", migrate_schema=False)
    sql = (
        "RETURN [time::now(), 90m, <decimal>'1.50', <uuid>'0192b6f0-0000-7000-8000-000000000001',"
        " NONE, NULL, ticket:abc, <bytes>'ab', {a: [1, 2.5, 'x', true]}];"
    )
    try:
        here, there = await home.one(sql), await away.one(sql)
        assert there[1:] == here[1:]
        assert [type(value) for value in there] == [type(value) for value in here]
    finally:
        await away.close()
        await home.close()


def test_credentials_cannot_be_empty() -> None:
    with pytest.raises(ValueError, match="username and a password"):
        Credentials(username="bot", password="")
    assert Credentials(username="bot", password="pw").match("bot", "pw")
    assert not Credentials(username="bot", password="pw").match("bot", None)


async def test_many_clients_at_once_each_with_queries_in_flight(server: DatabaseServer) -> None:
    clients = [await client(server, migrate_schema=False) for _ in range(12)]
    try:
        await clients[0].run("DEFINE TABLE hit SCHEMALESS;")

        async def writes(db: Database, n: int) -> None:
            await asyncio.gather(*(db.run("CREATE hit SET n = $n;", {"n": n}) for _ in range(15)))

        await asyncio.gather(*(writes(db, n) for n, db in enumerate(clients)))
        counts = await clients[-1].one("SELECT n, count() AS c FROM hit GROUP BY n;")
        assert sorted((row["n"], row["c"]) for row in counts) == [(n, 15) for n in range(12)]
    finally:
        for db in clients:
            await db.close()


# --- what a broken or hostile client gets -------------------------------------------


async def test_garbage_frames_are_answered_with_errors_and_the_connection_lives_on(
    server: DatabaseServer,
) -> None:
    async with raw(server.url) as ws:
        cases: list[tuple[bytes | str, int, Any]] = [
            (b"\xff\xff\x00garbage", rpc.PARSE_ERROR, None),
            (b"", rpc.PARSE_ERROR, None),
            (cbor([1, 2, 3]), rpc.INVALID_REQUEST, None),
            (cbor({"id": "a", "params": []}), rpc.INVALID_REQUEST, "a"),
            (cbor({"id": "b", "method": 7}), rpc.INVALID_REQUEST, "b"),
            (cbor({"id": "c", "method": "query", "extra": 1}), rpc.INVALID_REQUEST, "c"),
            (cbor({"id": "d", "method": "query", "params": "x"}), rpc.INVALID_REQUEST, "d"),
            (request("frobnicate", id="e"), rpc.METHOD_NOT_FOUND, "e"),
            (request("live", "ticket", id="f"), rpc.METHOD_NOT_FOUND, "f"),
            (request("signin", "not a map", id="g"), rpc.INVALID_PARAMS, "g"),
            (request("use", "bad name;", "main", id="h"), rpc.INVALID_PARAMS, "h"),
            ('{"id": 1, "method": "ping"}', rpc.PARSE_ERROR, None),
            # A tag the SDK's codec refuses: a record id whose value is not a pair.
            (b"\xa1\x62id\xc8\x01", rpc.PARSE_ERROR, None),
        ]
        for frame, code, answer_id in cases:
            answer = await call(ws, frame)
            assert answer["error"]["code"] == code, (frame, answer)
            assert answer.get("id") == answer_id
            assert answer["error"]["message"]
        await signed_in(ws)
        for frame, code in [
            (request("query", 42, {}), rpc.INVALID_PARAMS),
            (request("query", "RETURN 1", "not a map"), rpc.INVALID_PARAMS),
            (request("query", "SELECT FROM WHERE", {}), rpc.INTERNAL),
            (
                cbor({"id": "t", "method": "query", "params": ["RETURN 1"], "txn": "x"}),
                rpc.INVALID_REQUEST,
            ),
        ]:
            answer = await call(ws, frame)
            assert answer["error"]["code"] == code, (frame, answer)
        answer = await call(ws, request("query", "RETURN 41 + 1", {}))
        assert answer["result"][0]["result"] == 42


async def test_only_the_rpc_path_and_the_cbor_subprotocol_are_served(
    server: DatabaseServer,
) -> None:
    with pytest.raises(InvalidStatus, match="404"):
        async with connect(f"{server.url}/other", subprotocols=["cbor"]):  # type: ignore[list-item]
            pass
    with pytest.raises(InvalidStatus, match="400"):
        async with connect(f"{server.url}/rpc"):  # JSON, SurrealDB's other format
            pass
    async with ClientSession() as http, http.get(f"http{server.url[2:]}/health") as health:
        assert health.status == 200


async def test_an_oversized_frame_closes_that_connection_only(tmp_path: Path) -> None:
    small = serving(tmp_path / "db", max_frame=4096)
    async with small as server, raw(server.url) as ws, raw(server.url) as bystander:
        await signed_in(bystander)
        await signed_in(ws)
        await ws.send(request("query", "RETURN $x", {"x": "y" * 8192}))
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == CloseCode.MESSAGE_TOO_BIG
        answer = await call(bystander, request("query", "RETURN $x", {"x": "y" * 1024}))
        assert answer["result"][0]["result"] == "y" * 1024


DYING_CLIENT = """
import asyncio, sys
from surrealdb import AsyncSurreal

async def main():
    db = AsyncSurreal(sys.argv[1])
    await db.connect()
    await db.signin({"username": sys.argv[2], "password": sys.argv[3]})
    await db.use("tickets", "main")
    await db.query_raw("CREATE started:1; RETURN sleep(1s); CREATE finished:1;")

asyncio.run(main())
"""


async def test_the_server_survives_a_client_killed_mid_query(server: DatabaseServer) -> None:
    watcher = await client(server, migrate_schema=False)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        DYING_CLIENT,
        server.url,
        USER,
        PASSWORD,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        await eventually(lambda: watcher.one("SELECT * FROM started;"))
        process.send_signal(signal.SIGKILL)
        assert await process.wait() == -signal.SIGKILL
        # What the client handed over runs to its end, as on the embedded engine.
        await eventually(lambda: watcher.one("SELECT * FROM finished;"))
        fresh = await client(server, migrate_schema=False)
        assert await fresh.one("RETURN 'still serving';") == "still serving"
        await fresh.close()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await watcher.close()


async def test_closing_the_server_lets_running_queries_finish(tmp_path: Path) -> None:
    async with serving(tmp_path / "db") as running, raw(running.url) as ws:
        await signed_in(ws)
        await ws.send(request("query", "RETURN sleep(300ms); CREATE done:1;", {}))
        assert "result" in await call(ws, request("ping", id="p"))
        await running.close()
    db = await open_database(f"surrealkv://{tmp_path / 'db'}")
    try:
        assert await db.one("SELECT VALUE id FROM done;") == [RecordID("done", 1)]
    finally:
        await db.close()


async def test_closing_the_server_cancels_a_query_that_outlasts_the_grace(tmp_path: Path) -> None:
    async with serving(tmp_path / "db") as running, raw(running.url) as ws:
        await signed_in(ws)
        await ws.send(request("query", "BEGIN; CREATE late:1; RETURN sleep(60s); COMMIT;", {}))
        assert "result" in await call(ws, request("ping", id="p"))
        await running.close(grace=0.1)
    db = await open_database(f"surrealkv://{tmp_path / 'db'}")
    try:
        assert await db.one("SELECT * FROM late;") == []  # rolled back, not half-written
    finally:
        await db.close()
