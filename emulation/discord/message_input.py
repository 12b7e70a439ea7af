"""A message from a request: JSON or multipart (``payload_json`` + ``files[n]``), validated.

Channel messages, interaction responses and webhook followups all take the same
body, so they share this.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass, field
from typing import Any

import msgspec
from aiohttp import BodyPartReader, MultipartReader, web
from msgspec import UNSET

from . import bodies, errors
from .models import JSON, Attachment, Message
from .state import World


@dataclass
class MessageInput:
    """A message body plus any files, from JSON or from multipart ``payload_json``."""

    raw: Any
    files: dict[str, tuple[str, str | None, bytes]] = field(default_factory=dict)


async def read_input(request: web.Request) -> MessageInput:
    if request.content_type == "multipart/form-data":
        return await read_multipart(await request.multipart())
    return MessageInput(raw=decode_json(await request.read()))


async def read_multipart(reader: MultipartReader) -> MessageInput:
    """``payload_json`` plus ``files[n]``; shared by requests and endpoint answers."""
    raw: Any = {}
    files: dict[str, tuple[str, str | None, bytes]] = {}
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            continue
        name = part.name or ""
        data = await part.read()
        filename = part.filename
        if name == "payload_json":
            raw = decode_json(bytes(data))
        elif filename:
            content_type = part.headers.get("Content-Type")
            if content_type in (None, "application/octet-stream"):
                content_type = mimetypes.guess_type(filename)[0] or content_type
            files[name] = (filename, content_type, bytes(data))
    return MessageInput(raw=raw, files=files)


def decode_json(raw: bytes) -> Any:
    try:
        return msgspec.json.decode(raw or b"{}")
    except msgspec.DecodeError:
        raise errors.form_error(
            [], "INVALID_JSON", "The request body contains invalid JSON."
        ) from None


def message_fields(
    world: World, inp: MessageInput, raw: Any, editing: Message | None = None
) -> dict[str, Any]:
    """Validated attributes of a message to create, or the changed ones of an edit."""
    body = bodies.convert(raw if raw is not None else {}, bodies.MessageBody)
    out: dict[str, Any] = {}
    flags = body.flags if isinstance(body.flags, int) else (editing.flags if editing else 0)
    if body.content is not UNSET:
        out["content"] = bodies.content(body.content)
    if body.embeds is not UNSET:
        out["embeds"] = bodies.embeds(body.embeds or [])
    if body.components is not UNSET:
        out["components"] = bodies.components(body.components or [], flags=flags)
    if body.allowed_mentions is not UNSET:
        out["allowed_mentions"] = body.allowed_mentions
    if isinstance(body.flags, int):
        out["flags"] = body.flags
    if editing is None:
        out["tts"] = bool(body.tts)
        if body.message_reference:
            out["reference"] = _reference(world, body.message_reference)
    attachments = _attachments(world, body, inp, editing)
    if attachments is not None:
        out["attachments"] = attachments
    return out


def _reference(world: World, ref: dict[str, Any]) -> JSON:
    message_id = bodies.snowflake(ref.get("message_id", ""), ["message_reference", "message_id"])
    target = world.messages.get(message_id)
    if target is None:
        if ref.get("fail_if_not_exists", True):
            raise errors.form_error(
                ["message_reference"], "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message"
            )
        return {}
    out: JSON = {"type": 0, "channel_id": str(target.channel_id), "message_id": str(target.id)}
    if target.guild_id is not None:
        out["guild_id"] = str(target.guild_id)
    return out


def _attachments(
    world: World, body: bodies.MessageBody, inp: MessageInput, editing: Message | None
) -> list[Attachment] | None:
    listed = body.attachments if isinstance(body.attachments, list) else None
    if listed is None and not inp.files:
        return None
    kept: list[Attachment] = []
    new: list[Attachment] = []
    used: set[str] = set()
    for index, meta in enumerate(listed or []):
        ref = str(meta.get("id", index))
        upload = inp.files.get(f"files[{ref}]")
        if upload is not None:
            used.add(f"files[{ref}]")
            new.append(_attachment(world, upload, meta))
        elif editing is not None:
            kept.extend(a for a in editing.attachments if str(a.id) == ref)
    for name, upload in inp.files.items():
        if name not in used:
            new.append(_attachment(world, upload, {}))
    if listed is None and editing is not None:
        kept = list(editing.attachments)
    return kept + new


def _attachment(
    world: World, upload: tuple[str, str | None, bytes], meta: dict[str, Any]
) -> Attachment:
    filename, content_type, data = upload
    return Attachment(
        id=world.ids.next(),
        filename=str(meta.get("filename") or filename),
        size=len(data),
        content_type=content_type,
        description=meta.get("description"),
        data=data,
    )
