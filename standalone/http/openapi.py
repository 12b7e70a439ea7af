"""The OpenAPI 3.1 document, built from the route table and the msgspec Structs.

Every ``ApiRoute`` becomes an operation: path parameters from its template,
request and response bodies as JSON Schema from ``msgspec.json.schema_components``,
and the error answers its ``auth`` level can give (all as ``ErrorBody``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from typing import Any

import msgspec
from aiohttp import web

from standalone.http.api.base import ApiRoute
from standalone.http.api.status import version
from standalone.http.errors import ErrorBody

REF = "#/components/schemas/{name}"
_PARAM = re.compile(r"\{([a-z_]+)\}")
_DESCRIBED = {
    "tenant": "The bot (tenant) name",
    "guild": "The server (guild) id",
    "category": "A category key",
    "question": "A question key",
    "tag": "A tag key",
    "number": "The ticket's number in its server",
}
_REASONS = {
    400: "Malformed request",
    401: "Not logged in",
    403: "Not allowed (or CSRF token missing or wrong)",
    404: "No such bot, server or item",
    409: "Conflicts with the current state",
    413: "Body too large",
    415: "Wrong content type",
    422: "A field is not acceptable; error.field names it",
    502: "Discord did not answer as expected",
}


def _errors(route: ApiRoute) -> list[int]:
    codes: list[int] = []
    if route.auth != "none":
        codes += [401, 403, 404]
    if route.method in ("POST", "PUT", "PATCH", "DELETE"):
        codes += [400, 409, 413, 415, 422]
    if route.query:
        codes.append(422)
    if route.auth in ("member", "admin"):
        codes.append(502)
    return sorted(set(codes))


def _content(kind: Any, schemas: Sequence[dict[str, Any]], index: int) -> dict[str, Any]:
    if isinstance(kind, str):
        schema: dict[str, Any] = {"type": "string"}
        if kind in ("application/zip",):
            schema["format"] = "binary"
        return {kind: {"schema": schema}}
    return {"application/json": {"schema": schemas[index]}}


def build(routes: list[ApiRoute]) -> dict[str, Any]:
    types: list[Any] = [ErrorBody]
    for route in routes:
        for kind in (route.body, route.response):
            if kind is not None and not isinstance(kind, str):
                types.append(kind)
    schemas, components = msgspec.json.schema_components(types, ref_template=REF)
    position = {id(kind): n for n, kind in enumerate(types)}
    error_schema = schemas[0]
    paths: dict[str, Any] = {}
    for route in routes:
        params: list[dict[str, Any]] = [
            {
                "name": name,
                "in": "path",
                "required": True,
                "description": _DESCRIBED.get(name, name),
                "schema": {"type": "string"},
            }
            for name in _PARAM.findall(route.path)
        ]
        params += [
            {
                "name": name,
                "in": "query",
                "required": False,
                "description": text,
                "schema": {"type": "string"},
            }
            for name, text in route.query
        ]
        responses: dict[str, Any] = {}
        ok: dict[str, Any] = {"description": route.summary}
        if route.response is not None:
            ok["content"] = _content(route.response, schemas, position.get(id(route.response), 0))
        responses[str(route.status)] = ok
        for code in _errors(route):
            responses[str(code)] = {
                "description": _REASONS[code],
                "content": {"application/json": {"schema": error_schema}},
            }
        operation: dict[str, Any] = {
            "operationId": f"{route.method.lower()}_{route.handler.__module__.rsplit('.', 1)[-1]}"
            f"_{route.handler.__name__}",
            "summary": route.summary,
            "tags": [route.tag],
            "parameters": params,
            "responses": responses,
        }
        if route.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": _content(route.body, schemas, position.get(id(route.body), 0)),
            }
        if route.auth != "none":
            writes = route.method in ("POST", "PUT", "PATCH", "DELETE")
            operation["security"] = [{"session": [], "csrf": []} if writes else {"session": []}]
        paths.setdefault(route.path, {})[route.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "tickets dashboard API",
            "version": version(),
            "description": (
                "Settings and tickets of a multi-tenant Discord ticket bot. Log in at "
                "/t/{tenant}/auth/login; writes need the X-CSRF-Token header from "
                "GET /t/{tenant}/api/users/@me."
            ),
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "tickets_session"},
                "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"},
            },
        },
    }


@cache
def _document() -> bytes:
    from standalone.http.api.table import api_routes  # the table imports us

    return msgspec.json.encode(build(api_routes()))


async def get_openapi(request: web.Request) -> web.Response:
    return web.Response(body=_document(), content_type="application/json")


def routes() -> list[web.RouteDef]:
    return [web.get("/api/openapi.json", get_openapi)]
