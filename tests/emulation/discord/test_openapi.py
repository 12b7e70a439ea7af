"""Every JSON body the stand-in returns validates against Discord's own OpenAPI spec."""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from openapi_schema_validator import OAS31Validator, oas31_format_checker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from emulation.discord import FakeDiscord

from .conftest import Api, Setup

SPEC_URI = "urn:discord:openapi"


def spec_path() -> Path:
    if env := os.environ.get("DISCORD_OPENAPI"):
        return Path(env)
    repo = Path(__file__).resolve().parents[3]
    # CI checks the spec out next to the repository, in ../shared.
    return repo.parent / "shared" / "discord-api" / "openapi.json"


@cache
def registry() -> Registry[Any]:
    path = spec_path()
    if not path.is_file():
        message = f"Discord OpenAPI spec not found at {path} (set DISCORD_OPENAPI)"
        # CI always has the spec beside the checkout: there a missing spec is a failure.
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    spec = json.loads(path.read_text())
    resource = Resource.from_contents(spec, default_specification=DRAFT202012)
    return Registry().with_resource(SPEC_URI, resource)


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def schema_errors(template: str, method: str, status: int, body: Any) -> list[str]:
    reg = registry()
    spec = reg.contents(SPEC_URI)
    responses = spec["paths"][template][method.lower()]["responses"]
    key = str(status) if str(status) in responses else f"{str(status)[0]}XX"
    assert key in responses, f"{method} {template}: spec has no response {status}"
    response = responses[key]
    if "$ref" in response:  # shared responses such as ClientErrorResponse
        name = response["$ref"].rsplit("/", 1)[1]
        pointer = _pointer("components", "responses", name)
    else:
        pointer = _pointer("paths", template, method.lower(), "responses", key)
    schema = {"$ref": f"{SPEC_URI}#/{pointer}/content/application~1json/schema"}
    validator = OAS31Validator(schema, registry=reg, format_checker=oas31_format_checker)
    return [
        f"{method} {template} -> {status}: {'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(body)
    ]


class CheckedApi:
    """Calls routes by their spec template and collects every schema violation."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.problems: list[str] = []
        self.checked = 0

    async def __call__(
        self, method: str, template: str, body: Any = None, *, expect: int = 200, **params: Any
    ) -> Any:
        token = params.pop("token", None)
        query = params.pop("query", "")
        path = template.format(**params) + query
        status, data, resp = await self.api.call(method, path, body, token=token)
        assert status == expect, (method, path, status, data)
        if data is not None:
            assert resp.headers["Content-Type"] == "application/json"
            self.problems += schema_errors(template, method, status, data)
            self.checked += 1
        return data


def test_the_check_can_fail():
    """Guards against a validator that silently accepts everything (e.g. an unresolved $ref)."""
    problems = schema_errors("/users/@me", "GET", 200, {"id": 5})
    assert any("'username' is a required property" in p for p in problems)
    assert schema_errors("/channels/{channel_id}", "GET", 200, {"id": "1", "type": 0})


async def test_flow_matches_the_spec(fd: FakeDiscord, setup: Setup, api: Api):
    call = CheckedApi(api)
    app, guild = setup.app, setup.guild

    me = await call("GET", "/users/@me")
    assert me["id"] == str(app.bot_user.id) and me["bot"] is True
    gateway = await call("GET", "/gateway/bot")
    assert gateway["url"] == fd.gateway_url and gateway["shards"] == 1
    await call("GET", "/gateway")
    await call("GET", "/oauth2/applications/@me")

    commands = [
        {
            "name": "panel",
            "description": "Post the ticket panel",
            "options": [
                {"name": "staff_role", "description": "Staff", "type": 8, "required": True},
                {"name": "title", "description": "Title", "type": 3, "max_length": 80},
            ],
        },
        {"name": "Report", "type": 3},
    ]
    put = await call(
        "PUT", "/applications/{application_id}/commands", commands, application_id=app.id
    )
    listed = await call("GET", "/applications/{application_id}/commands", application_id=app.id)
    assert [c["id"] for c in listed] == [c["id"] for c in put]
    again = await call(
        "PUT", "/applications/{application_id}/commands", commands, application_id=app.id
    )
    assert [c["id"] for c in again] == [c["id"] for c in put]  # same name+type keeps its id
    await call(
        "PUT",
        "/applications/{application_id}/guilds/{guild_id}/commands",
        [],
        application_id=app.id,
        guild_id=guild.id,
    )
    await call(
        "GET",
        "/applications/{application_id}/guilds/{guild_id}/commands",
        application_id=app.id,
        guild_id=guild.id,
    )

    await call("GET", "/guilds/{guild_id}", guild_id=guild.id)
    await call("GET", "/guilds/{guild_id}", guild_id=guild.id, query="?with_counts=true")
    category = await call(
        "POST",
        "/guilds/{guild_id}/channels",
        {"name": "Tickets", "type": 4},
        guild_id=guild.id,
        expect=201,
    )
    overwrites = [
        {"id": str(guild.id), "type": 0, "allow": "0", "deny": str(1 << 10)},
        {"id": setup.staff.id, "type": 0, "allow": 1 << 10 | 1 << 11, "deny": 0},
        {"id": str(setup.alice.id), "type": 1, "allow": str(1 << 10), "deny": "0"},
    ]
    ticket = await call(
        "POST",
        "/guilds/{guild_id}/channels",
        {
            "name": "ticket-0001",
            "type": 0,
            "parent_id": category["id"],
            "topic": "Printer",
            "permission_overwrites": overwrites,
            "rate_limit_per_user": 0,
        },
        guild_id=guild.id,
        expect=201,
    )
    assert ticket["parent_id"] == category["id"] and len(ticket["permission_overwrites"]) == 3
    await call("GET", "/guilds/{guild_id}/channels", guild_id=guild.id)
    await call("GET", "/channels/{channel_id}", channel_id=ticket["id"])
    await call(
        "PATCH",
        "/channels/{channel_id}",
        {"name": "Closed 0001", "topic": None},
        channel_id=ticket["id"],
    )
    await call(
        "PUT",
        "/channels/{channel_id}/permissions/{overwrite_id}",
        {"type": 1, "allow": "0", "deny": str(1 << 11)},
        channel_id=ticket["id"],
        overwrite_id=setup.alice.id,
        expect=204,
    )

    message = await call(
        "POST",
        "/channels/{channel_id}/messages",
        {
            "content": f"Welcome <@{setup.alice.id}>",
            "allowed_mentions": {"parse": [], "users": [str(setup.alice.id)]},
            "embeds": [
                {
                    "title": "Ticket",
                    "description": "Printer",
                    "color": 0x5865F2,
                    "fields": [{"name": "Topic", "value": "Printer"}],
                    "footer": {"text": "Tickets"},
                }
            ],
            "components": [
                {
                    "type": 1,
                    "components": [
                        {"type": 2, "style": 4, "label": "Close", "custom_id": "close:1"},
                        {"type": 2, "style": 5, "label": "Docs", "url": "https://example.com"},
                    ],
                }
            ],
        },
        channel_id=ticket["id"],
    )
    reply = await call(
        "POST",
        "/channels/{channel_id}/messages",
        {"content": "reply", "message_reference": {"message_id": message["id"]}},
        channel_id=ticket["id"],
    )
    assert reply["message_reference"]["message_id"] == message["id"]
    await call("GET", "/channels/{channel_id}/messages", channel_id=ticket["id"], query="?limit=10")
    await call(
        "GET",
        "/channels/{channel_id}/messages/{message_id}",
        channel_id=ticket["id"],
        message_id=message["id"],
    )
    edited = await call(
        "PATCH",
        "/channels/{channel_id}/messages/{message_id}",
        {"content": "Welcome!", "components": []},
        channel_id=ticket["id"],
        message_id=message["id"],
    )
    assert edited["edited_timestamp"] and edited["embeds"]
    await call(
        "PUT",
        "/channels/{channel_id}/messages/pins/{message_id}",
        channel_id=ticket["id"],
        message_id=message["id"],
        expect=204,
    )
    pins = await call("GET", "/channels/{channel_id}/messages/pins", channel_id=ticket["id"])
    assert [p["message"]["id"] for p in pins["items"]] == [message["id"]]

    await call(
        "DELETE",
        "/channels/{channel_id}/messages/{message_id}",
        channel_id=ticket["id"],
        message_id=reply["id"],
        expect=204,
    )
    dm = await call("POST", "/users/@me/channels", {"recipient_id": str(setup.alice.id)})
    await call(
        "POST",
        "/channels/{channel_id}/messages",
        {"content": "Your ticket closed"},
        channel_id=dm["id"],
    )
    await call(
        "GET", "/guilds/{guild_id}/members/{user_id}", guild_id=guild.id, user_id=setup.alice.id
    )
    await call("GET", "/guilds/{guild_id}/roles", guild_id=guild.id)
    await call("DELETE", "/channels/{channel_id}", channel_id=ticket["id"])

    # Interaction callback, then followups through the interaction webhook.
    inter = await fd.actor(app.id, guild.id, setup.alice.id).slash(
        "panel", {"staff_role": setup.staff.id, "title": "Help"}
    )
    assert inter.payload["data"]["resolved"]["roles"][str(setup.staff.id)]["name"] == "Staff"
    await call(
        "POST",
        "/interactions/{interaction_id}/{interaction_token}/callback",
        {"type": 5, "data": {"flags": 64}},
        interaction_id=inter.id,
        interaction_token=inter.token,
        expect=204,
    )
    hook = {"webhook_id": app.id, "webhook_token": inter.token}
    await call(
        "POST",
        "/webhooks/{webhook_id}/{webhook_token}",
        {"content": "Panel posted"},
        query="?wait=true",
        **hook,
    )
    await call(
        "POST",
        "/webhooks/{webhook_id}/{webhook_token}",
        {"content": "and more", "embeds": [{"description": "x"}]},
        query="?wait=1",
        **hook,
    )
    await call("GET", "/webhooks/{webhook_id}/{webhook_token}/messages/@original", **hook)
    await call(
        "PATCH",
        "/webhooks/{webhook_id}/{webhook_token}/messages/@original",
        {"content": "Panel posted!"},
        **hook,
    )

    # Error bodies carry Discord's code and message, and match the spec's error schema.
    for status, template, params in [
        (401, "/users/@me", {"token": "bad"}),
        (404, "/channels/{channel_id}", {"channel_id": ticket["id"]}),
        (404, "/guilds/{guild_id}", {"guild_id": 1}),
    ]:
        body = await call("GET", template, expect=status, **params)
        assert isinstance(body["code"], int) and isinstance(body["message"], str)

    assert call.problems == []
    assert call.checked >= 30
    assert fd.server_errors == []


async def test_files_upload_as_multipart(fd: FakeDiscord, setup: Setup):
    form = aiohttp.FormData()
    form.add_field(
        "files[0]",
        b"<html>transcript</html>",
        filename="transcript.html",
        content_type="application/octet-stream",
    )
    form.add_field(
        "payload_json",
        json.dumps(
            {"content": "Transcript", "attachments": [{"id": 0, "filename": "transcript.html"}]}
        ),
    )
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{fd.api_base}/channels/{setup.general.id}/messages",
            data=form,
            headers={"Authorization": f"Bot {setup.app.token}"},
        ) as resp:
            assert resp.status == 200
            body = await resp.json(content_type="application/json")
        assert schema_errors("/channels/{channel_id}/messages", "POST", 200, body) == []
        attachment = body["attachments"][0]
        assert (attachment["filename"], attachment["size"]) == ("transcript.html", 23)
        async with session.get(attachment["url"]) as download:
            assert await download.read() == b"<html>transcript</html>"
    stored = fd.messages(setup.general.id)[0].attachments[0]
    assert (stored.filename, stored.size, stored.content_type) == (
        "transcript.html",
        23,
        "text/html",
    )
