"""SurrealDB's WebSocket RPC as the SDK speaks it: CBOR frames, ``{id, method, params}``.

The values inside (record ids, datetimes, durations, decimals, NONE) use
SurrealDB's CBOR tags; the SDK's own codec (``surrealdb.data.cbor``) reads and
writes them, so what the server sends back decodes in the client exactly as it
would from a SurrealDB server.
"""

from __future__ import annotations

from io import BytesIO
from typing import Any

import msgspec
from surrealdb.cbor import CBORDecoder
from surrealdb.data.cbor import decode, encode, tag_decoder

# JSON-RPC codes, as SurrealDB uses them; the SDK maps each to an error kind.
PARSE_ERROR = -32700  # not CBOR
INVALID_REQUEST = -32600  # CBOR, but not a request
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
NOT_ALLOWED = -32002  # not signed in, or wrong credentials
INTERNAL = -32000  # the engine refused the statement (parse error, …)

RequestId = str | int | None


class Request(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One decoded request frame; ``params`` keep the SDK's value types.

    Unknown fields are refused: the server forwards a frame to the engine as it
    came, so nothing in it may be something the server did not look at.
    """

    method: str
    id: RequestId = None
    params: list[Any] = msgspec.field(default_factory=list)
    # SurrealDB 3's multi-session and client-side transaction fields.
    session: Any = None
    txn: Any = None


class RpcError(msgspec.Struct, kw_only=True):
    """The ``error`` of a response; ``kind`` is the SDK's name for the class it raises."""

    code: int
    message: str
    kind: str


class Refused(Exception):
    """A request answered with an error; the message goes to the client."""

    KINDS = {
        PARSE_ERROR: "Validation",
        INVALID_REQUEST: "Validation",
        METHOD_NOT_FOUND: "NotFound",
        INVALID_PARAMS: "Validation",
        NOT_ALLOWED: "NotAllowed",
        INTERNAL: "Internal",
    }

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code

    def error(self) -> RpcError:
        kind = self.KINDS.get(self.code, "Internal")
        return RpcError(code=self.code, message=str(self), kind=kind)


def parse_request(frame: bytes) -> Request:
    """Decode one frame; raises ``Refused`` for anything that is not a request."""
    try:
        data = _decode_whole(frame)
    except Exception as exc:  # the codec raises many kinds on garbage; all mean the same
        raise Refused(PARSE_ERROR, f"Parse error: the frame is not valid CBOR ({exc})") from None
    try:
        return msgspec.convert(data, Request)
    except msgspec.ValidationError as exc:
        raise Refused(INVALID_REQUEST, f"Invalid request: {exc}") from None


def _decode_whole(frame: bytes) -> Any:
    with BytesIO(frame) as stream:
        data = CBORDecoder(stream, tag_hook=tag_decoder).decode()
        if stream.tell() != len(frame):
            raise ValueError("bytes after the request")
    return data


def request_id(frame: bytes) -> RequestId:
    """The id of a frame that is not a valid request, if one can be read, to answer it."""
    try:
        data = _decode_whole(frame)
    except Exception:  # garbage has no id to answer
        return None
    value = data.get("id") if isinstance(data, dict) else None
    return value if isinstance(value, str | int) else None


def encode_result(request_id: RequestId, result: Any) -> bytes:
    return bytes(encode({"id": request_id, "result": result}))


def encode_error(request_id: RequestId, error: Refused) -> bytes:
    return bytes(encode({"id": request_id, "error": msgspec.to_builtins(error.error())}))


def encode_request(request_id: RequestId, method: str, params: list[Any]) -> bytes:
    return bytes(encode({"id": request_id, "method": method, "params": params}))


def decode_response(frame: bytes) -> dict[str, Any]:
    response = decode(frame)
    if not isinstance(response, dict):
        raise Refused(INTERNAL, "the database engine gave an unexpected answer")
    return response
