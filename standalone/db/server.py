"""``tickets db serve``: the embedded database, shared with local processes as SurrealDB.

An embedded ``surrealkv://`` folder can be open in one process only (a second
engine on the same folder sees other data), so the process that holds it serves
it over SurrealDB's WebSocket RPC (CBOR frames at ``/rpc``), and the other
processes reach it with the SDK's ``ws://`` client, unchanged.

Every query runs on the one engine handle of this process, which the
``Database`` of this process may share. Its namespace and database are set once
("home"); a session using another pair gets a ``USE`` statement put in front of
each query (a ``USE`` inside a query lasts for that query only), so no session
ever changes what another sees. Session variables (``let``) stay in the session
and go with each query as parameters, for the same reason.

A query on the home pair with no session variables is handed to the engine as
the client's own frame, and the engine's answer goes back as it came: neither is
decoded and encoded again.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Protocol

import msgspec
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request as HttpRequest
from websockets.http11 import Response as HttpResponse
from websockets.typing import Subprotocol

from standalone.db import rpc
from standalone.db.listen import DEFAULT_MAX_FRAME
from standalone.db.rpc import Refused

log = logging.getLogger(__name__)

# Queries one connection may have running at once; its next frame waits for a slot.
DEFAULT_MAX_IN_FLIGHT = 32
# How long closing waits for the queries under way.
DEFAULT_CLOSE_GRACE_S = 10.0
# Namespace and database names put in a USE statement: nothing that could end it.
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,63}")
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_CBOR = Subprotocol("cbor")
# A request for the engine: its whole answer frame, or ``Refused``.
_Work = Callable[[], Awaitable[bytes]]


class Engine(Protocol):
    """The embedded SurrealDB: one RPC request in CBOR, its response in CBOR."""

    def execute(self, cbor_request: bytes) -> Awaitable[bytes]:
        """Run one request; raises ``RuntimeError`` (or ``ValueError`` for a request it
        cannot read) with SurrealDB's message when it fails."""
        ...


class Credentials(msgspec.Struct, frozen=True, kw_only=True):
    """The one user the server accepts (as root: it may do anything)."""

    username: str
    password: str

    def __post_init__(self) -> None:
        if not self.username or not self.password:
            raise ValueError("a database server needs a username and a password")

    def match(self, username: Any, password: Any) -> bool:
        if not isinstance(username, str) or not isinstance(password, str):
            return False
        # Digests of equal length, both compared, always: how long a refusal takes
        # tells nothing about either value, not even its length.
        user_ok = hmac.compare_digest(_digest(username), _digest(self.username))
        pass_ok = hmac.compare_digest(_digest(password), _digest(self.password))
        return user_ok & pass_ok


@dataclass
class _Session:
    """What one connection has set: who it is, where it works, its variables."""

    signed_in: bool = False
    namespace: str | None = None
    database: str | None = None
    variables: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Query:
    """A query with the session as it was when the query arrived."""

    id: rpc.RequestId
    sql: str
    variables: dict[str, Any]
    namespace: str
    database: str
    frame: bytes
    session_variables: bool


def _check_name(what: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise Refused(
            rpc.INVALID_PARAMS,
            f"{what} must be 1 to 64 letters, digits, '_' or '-', got {value!r}",
        )
    return value


def _variable_name(value: Any) -> str:
    name = value[1:] if isinstance(value, str) and value.startswith("$") else value
    if not isinstance(name, str) or not _VARIABLE.fullmatch(name):
        raise Refused(rpc.INVALID_PARAMS, f"not a variable name: {value!r}")
    return name


class DatabaseServer:
    """Serves one engine handle at ``ws://host:port/rpc`` to signed-in clients."""

    def __init__(
        self,
        engine: Engine,
        *,
        namespace: str,
        database: str,
        credentials: Credentials,
        max_frame: int = DEFAULT_MAX_FRAME,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
    ) -> None:
        self._engine: Engine | None = engine
        # The pair the engine handle was set to; queries there need no USE.
        self.home = (namespace, database)
        self.credentials = credentials
        self.max_frame = max_frame
        self.max_in_flight = max_in_flight
        self.host = ""
        self.port = 0
        self._server: Server | None = None
        # Engine calls under way; closing waits for them, never cancels them.
        self._calls: set[asyncio.Task[None]] = set()
        self._local: dict[str, Callable[[_Session, rpc.Request], Any]] = {
            "ping": self._ping,
            "signin": self._signin,
            "invalidate": self._invalidate,
            "reset": self._reset,
            "use": self._use,
            "let": self._let,
            "unset": self._unset,
            "info": self._info,
        }

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ws://{host}:{self.port}"

    async def start(self, host: str, port: int) -> None:
        """Listen on ``host:port`` (port 0: a free one, then in ``self.port``)."""
        self._server = await serve(
            self._connection,
            host,
            port,
            # A client offering no "cbor" is refused at the handshake (HTTP 400).
            subprotocols=[_CBOR],
            max_size=self.max_frame,
            # Loopback traffic: deflating it would only cost CPU.
            compression=None,
            process_request=self._route,
        )
        self.host, self.port = self._server.sockets[0].getsockname()[:2]

    async def close(self, grace: float = DEFAULT_CLOSE_GRACE_S) -> None:
        """Stop listening, close every connection, and let running queries finish.

        A query still running after ``grace`` seconds (a client's ``sleep(1h)``)
        is cancelled, which the engine takes as an abort (its transaction rolls
        back). It cannot be left running: an engine call that ends after Python
        has shut down aborts the process.
        """
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        if self._calls:
            _, running = await asyncio.wait(list(self._calls), timeout=grace)
            if running:
                log.warning("database server: cancelling %d queries still running", len(running))
                for task in running:
                    task.cancel()
                await asyncio.wait(running)
        # Let go of the engine, so the database's close can free it while Python
        # is alive (freed during interpreter shutdown, the engine aborts the process).
        self._engine = None

    async def __aenter__(self) -> DatabaseServer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _route(self, connection: ServerConnection, request: HttpRequest) -> HttpResponse | None:
        if request.path == "/rpc":
            return None
        if request.path == "/health":
            return connection.respond(HTTPStatus.OK, "OK\n")
        return connection.respond(HTTPStatus.NOT_FOUND, "Not Found: the RPC is at /rpc\n")

    async def _connection(self, ws: ServerConnection) -> None:
        session = _Session()
        slots = asyncio.Semaphore(self.max_in_flight)
        try:
            async for frame in ws:
                if isinstance(frame, str):
                    error = Refused(rpc.PARSE_ERROR, "send CBOR in binary frames, not text")
                    await _send(ws, rpc.encode_error(None, error))
                    continue
                work = await self._read(ws, session, frame)
                if work is not None:
                    await slots.acquire()
                    self._spawn(self._answer(ws, *work), slots.release)
        except ConnectionClosed:
            pass

    async def _read(
        self, ws: ServerConnection, session: _Session, frame: bytes
    ) -> tuple[rpc.RequestId, _Work] | None:
        """Answer a frame that changes or reads only the session; return engine work to run.

        The session is read here, in frame order: a query sent after a ``use``
        runs where that ``use`` said, however the engine calls interleave.
        """
        try:
            request = rpc.parse_request(frame)
        except Refused as exc:
            await _send(ws, rpc.encode_error(rpc.request_id(frame), exc))
            return None
        try:
            if request.session is not None or request.txn is not None:
                raise Refused(
                    rpc.INVALID_REQUEST,
                    "sessions and client-side transactions are not supported by this "
                    "server; use BEGIN and COMMIT in the query",
                )
            if request.method == "query":
                query = self._query(session, request, frame)
                return request.id, lambda: self._run(query)
            if request.method == "version":
                version = rpc.encode_request(request.id, "version", [])
                return request.id, lambda: self._execute(version)
            handler = self._local.get(request.method)
            if handler is None:
                raise Refused(
                    rpc.METHOD_NOT_FOUND,
                    f"Method not found: {request.method!r} (this server answers "
                    "signin, use, query, let, unset, invalidate, reset, info, ping, version)",
                )
            if request.method not in ("ping", "signin", "use") and not session.signed_in:
                raise _not_signed_in()
            result = handler(session, request)
        except Refused as exc:
            if request.method == "signin":
                log.warning("database server: refused a sign-in from %s", ws.remote_address)
            await _send(ws, rpc.encode_error(request.id, exc))
            return None
        await _send(ws, rpc.encode_result(request.id, result))
        return None

    def _query(self, session: _Session, request: rpc.Request, frame: bytes) -> _Query:
        if not session.signed_in:
            raise _not_signed_in()
        if not 1 <= len(request.params) <= 2 or not isinstance(request.params[0], str):
            raise Refused(rpc.INVALID_PARAMS, "query takes [text, variables]")
        variables = request.params[1] if len(request.params) == 2 else None
        if variables is None:
            variables = {}
        if not isinstance(variables, dict):
            raise Refused(rpc.INVALID_PARAMS, "query variables must be a map")
        if session.namespace is None or session.database is None:
            raise Refused(rpc.INTERNAL, "Specify a namespace and a database to use")
        return _Query(
            id=request.id,
            sql=request.params[0],
            # The request's own variables win over the session's, as in SurrealDB.
            variables={**session.variables, **variables},
            namespace=session.namespace,
            database=session.database,
            frame=frame,
            session_variables=bool(session.variables),
        )

    def _spawn(self, call: Coroutine[Any, Any, None], done: Callable[[], None]) -> None:
        task = asyncio.create_task(call)
        self._calls.add(task)

        def finished(task: asyncio.Task[None]) -> None:
            self._calls.discard(task)
            done()

        task.add_done_callback(finished)

    async def _answer(self, ws: ServerConnection, request_id: rpc.RequestId, work: _Work) -> None:
        try:
            response = await work()
        except Refused as exc:
            response = rpc.encode_error(request_id, exc)
        except Exception:
            log.exception("database server: a request failed unexpectedly")
            response = rpc.encode_error(request_id, Refused(rpc.INTERNAL, "internal server error"))
        # A client that left meanwhile gets nothing; its query ran to its end regardless.
        await _send(ws, response)

    async def _run(self, query: _Query) -> bytes:
        if (query.namespace, query.database) == self.home:
            if not query.session_variables:
                return await self._execute(query.frame)
            return await self._execute(
                rpc.encode_request(query.id, "query", [query.sql, query.variables])
            )
        # Each name is checked by ``use`` to be one that cannot end the statement.
        sql = f"USE NS `{query.namespace}` DB `{query.database}`;\n{query.sql}"
        raw = await self._execute(rpc.encode_request(query.id, "query", [sql, query.variables]))
        response = rpc.decode_response(raw)
        results = response.get("result")
        if isinstance(results, list) and results:
            response["result"] = results[1:]  # the USE statement's own result
        return rpc.encode_result(query.id, response.get("result"))

    async def _execute(self, frame: bytes) -> bytes:
        try:
            if self._engine is None:
                raise Refused(rpc.INTERNAL, "the database server is closed")
            return await self._engine.execute(frame)
        except (RuntimeError, ValueError) as exc:
            # SurrealDB's refusal, or a request value the engine cannot read.
            raise Refused(rpc.INTERNAL, str(exc)) from None

    def _ping(self, session: _Session, request: rpc.Request) -> None:
        return None

    def _signin(self, session: _Session, request: rpc.Request) -> str:
        params = request.params[0] if len(request.params) == 1 else None
        if not isinstance(params, dict):
            raise Refused(rpc.INVALID_PARAMS, "signin takes [{user, pass}]")
        if "ac" in params:
            raise Refused(rpc.NOT_ALLOWED, "this server has no access methods; sign in as the user")
        session.signed_in = self.credentials.match(params.get("user"), params.get("pass"))
        if not session.signed_in:
            raise Refused(rpc.NOT_ALLOWED, "There was a problem with authentication")
        # The SDK keeps a token; this server knows sessions by their connection only.
        return f"local.{secrets.token_urlsafe(24)}.session"

    def _invalidate(self, session: _Session, request: rpc.Request) -> None:
        session.signed_in = False

    def _reset(self, session: _Session, request: rpc.Request) -> None:
        session.signed_in = False
        session.namespace = session.database = None
        session.variables.clear()

    def _use(self, session: _Session, request: rpc.Request) -> None:
        if len(request.params) != 2:
            raise Refused(rpc.INVALID_PARAMS, "use takes [namespace, database]")
        namespace = _check_name("the namespace", request.params[0])
        database = _check_name("the database", request.params[1])
        session.namespace = namespace or session.namespace
        session.database = database or session.database

    def _let(self, session: _Session, request: rpc.Request) -> None:
        if len(request.params) != 2:
            raise Refused(rpc.INVALID_PARAMS, "let takes [name, value]")
        session.variables[_variable_name(request.params[0])] = request.params[1]

    def _unset(self, session: _Session, request: rpc.Request) -> None:
        if len(request.params) != 1:
            raise Refused(rpc.INVALID_PARAMS, "unset takes [name]")
        session.variables.pop(_variable_name(request.params[0]), None)

    def _info(self, session: _Session, request: rpc.Request) -> None:
        return None  # the one user is a root user, which has no record


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def _not_signed_in() -> Refused:
    return Refused(rpc.NOT_ALLOWED, "Not signed in: sign in with the username and password")


async def _send(ws: ServerConnection, frame: bytes) -> None:
    with contextlib.suppress(ConnectionClosed):
        await ws.send(frame)
