"""What clients may send: typed request bodies and Discord's limits on them.

Every failure becomes a 400 ``Invalid Form Body`` naming the field, so a bot that
would be refused by Discord is refused here too.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

import msgspec
from msgspec import UNSET, UnsetType

from . import errors
from .errors import DiscordError
from .models import JSON

T = TypeVar("T")
Snowflake = int | str

IS_COMPONENTS_V2 = 1 << 15
EPHEMERAL = 1 << 6
SUPPRESS_EMBEDS = 1 << 2
SUPPRESS_NOTIFICATIONS = 1 << 12
_SELECT_TYPES = frozenset({3, 5, 6, 7, 8})
_COMMAND_NAME = re.compile(r"^[-_'\w]{1,32}$")


class OverwriteBody(msgspec.Struct):
    id: Snowflake
    type: int
    allow: int | str | None = None
    deny: int | str | None = None


class CreateChannelBody(msgspec.Struct):
    name: str
    type: int = 0
    topic: str | None = None
    position: int | None = None
    parent_id: Snowflake | None = None
    permission_overwrites: list[OverwriteBody] | None = None
    rate_limit_per_user: int | None = None
    nsfw: bool | None = None


class ModifyChannelBody(msgspec.Struct):
    name: str | UnsetType = UNSET
    topic: str | UnsetType | None = UNSET
    position: int | UnsetType | None = UNSET
    parent_id: Snowflake | UnsetType | None = UNSET
    permission_overwrites: list[OverwriteBody] | UnsetType | None = UNSET
    rate_limit_per_user: int | UnsetType | None = UNSET
    nsfw: bool | UnsetType | None = UNSET


class PutOverwriteBody(msgspec.Struct):
    type: int
    allow: int | str | None = None
    deny: int | str | None = None


class MessageBody(msgspec.Struct):
    content: str | UnsetType | None = UNSET
    embeds: list[dict[str, Any]] | UnsetType | None = UNSET
    components: list[dict[str, Any]] | UnsetType | None = UNSET
    allowed_mentions: dict[str, Any] | UnsetType | None = UNSET
    message_reference: dict[str, Any] | UnsetType | None = UNSET
    attachments: list[dict[str, Any]] | UnsetType | None = UNSET
    flags: int | UnsetType | None = UNSET
    tts: bool | UnsetType | None = UNSET
    sticker_ids: list[Snowflake] | UnsetType | None = UNSET
    nonce: int | str | UnsetType | None = UNSET


class CommandBody(msgspec.Struct):
    name: str
    type: int = 1
    description: str = ""
    options: list[dict[str, Any]] | None = None


class CallbackBody(msgspec.Struct):
    type: int
    data: dict[str, Any] | None = None


class BulkDeleteBody(msgspec.Struct):
    messages: list[Snowflake]


class DMBody(msgspec.Struct):
    recipient_id: Snowflake


# -- decoding ----------------------------------------------------------------------------


def _path_of(located: str) -> list[str]:
    """``$.permission_overwrites[0].id`` -> ``["permission_overwrites", "0", "id"]``."""
    return [p for p in re.split(r"[.\[\]]+", located.removeprefix("$")) if p]


def _form_error_from(exc: msgspec.ValidationError) -> DiscordError:
    text = str(exc)
    message, _, located = text.partition(" - at `")
    path = _path_of(located.rstrip("`")) if located else []
    missing = re.match(r"Object missing required field `([^`]+)`", message)
    if missing:
        return errors.form_error(
            [*path, missing.group(1)], "BASE_TYPE_REQUIRED", "This field is required"
        )
    return errors.form_error(path, "BASE_TYPE_BAD_TYPE", message)


def decode(raw: bytes, kind: type[T]) -> T:
    try:
        return msgspec.json.decode(raw or b"{}", type=kind)
    except msgspec.ValidationError as exc:
        raise _form_error_from(exc) from None
    except msgspec.DecodeError:
        # Discord itself answers 50109 here; the team asked for 50035 throughout.
        raise errors.form_error(
            [], "INVALID_JSON", "The request body contains invalid JSON."
        ) from None


def convert(value: Any, kind: type[T]) -> T:
    try:
        return msgspec.convert(value, type=kind)
    except msgspec.ValidationError as exc:
        raise _form_error_from(exc) from None


def snowflake(value: Snowflake, path: list[str]) -> int:
    text = str(value)
    if not text.isdigit() or int(text) >= 1 << 64:
        raise errors.form_error(path, "NUMBER_TYPE_COERCE", f'Value "{text}" is not snowflake.')
    return int(text)


def bitfield(value: int | str | None, path: list[str]) -> int:
    if value is None:
        return 0
    text = str(value)
    if not text.isdigit():
        raise errors.form_error(path, "NUMBER_TYPE_COERCE", f'Value "{text}" is not int.')
    return int(text)


def too_long(path: list[str], limit: int) -> DiscordError:
    return errors.form_error(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")


def check_len(value: Any, limit: int, path: list[str], *, minimum: int = 0) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        raise errors.form_error(path, "BASE_TYPE_BAD_TYPE", "Must be a string.")
    if len(value) > limit:
        raise too_long(path, limit)
    if len(value) < minimum:
        raise errors.form_error(
            path, "BASE_TYPE_MIN_LENGTH", f"Must be {minimum} or more in length."
        )


# -- channels ----------------------------------------------------------------------------


def channel_name(name: str, path: list[str]) -> str:
    check_len(name.strip(), 100, path, minimum=1)
    return name


# -- messages ----------------------------------------------------------------------------


def embeds(raw: list[dict[str, Any]]) -> list[JSON]:
    if len(raw) > 10:
        raise errors.form_error(
            ["embeds"], "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length."
        )
    out: list[JSON] = []
    total = 0
    for index, embed in enumerate(raw):
        at = ["embeds", str(index)]
        clean: JSON = {k: v for k, v in embed.items() if v is not None}
        clean.setdefault("type", "rich")
        for key, limit in (("title", 256), ("description", 4096)):
            check_len(clean.get(key), limit, [*at, key])
            total += len(clean.get(key) or "")
        fields = clean.get("fields", [])
        if not isinstance(fields, list) or len(fields) > 25:
            raise errors.form_error(
                [*at, "fields"], "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."
            )
        clean_fields = []
        for f_index, field in enumerate(fields):
            f_at = [*at, "fields", str(f_index)]
            if not isinstance(field, dict):
                raise errors.form_error(f_at, "MODEL_TYPE_CONVERT", "Must be an object.")
            for key, limit in (("name", 256), ("value", 1024)):
                if not field.get(key):
                    raise errors.form_error(
                        [*f_at, key], "BASE_TYPE_REQUIRED", "This field is required"
                    )
                check_len(field[key], limit, [*f_at, key])
                total += len(field[key])
            clean_fields.append(
                {
                    "name": field["name"],
                    "value": field["value"],
                    "inline": bool(field.get("inline", False)),
                }
            )
        if "fields" in clean:
            clean["fields"] = clean_fields
        footer = clean.get("footer")
        if isinstance(footer, dict):
            check_len(footer.get("text"), 2048, [*at, "footer", "text"])
            total += len(footer.get("text") or "")
        author = clean.get("author")
        if isinstance(author, dict):
            check_len(author.get("name"), 256, [*at, "author", "name"])
            total += len(author.get("name") or "")
        out.append(clean)
    if total > 6000:
        raise errors.form_error(
            ["embeds"], "MESSAGE_EMBED_TOO_LONG", "Embed size exceeds maximum size of 6000"
        )
    return out


class ComponentIds:
    """Discord numbers components that come without an ``id``, skipping ids already used."""

    def __init__(self, tree: list[dict[str, Any]]) -> None:
        self.used: set[int] = set()
        self._collect(tree)
        self.next = 1

    def _collect(self, tree: list[dict[str, Any]]) -> None:
        for node in tree:
            if isinstance(node.get("id"), int) and node["id"] > 0:
                self.used.add(node["id"])
            self._collect(list(children_of(node)))

    def take(self) -> int:
        while self.next in self.used:
            self.next += 1
        self.used.add(self.next)
        return self.next


def children_of(node: dict[str, Any]) -> list[dict[str, Any]]:
    kids = [c for c in node.get("components", []) if isinstance(c, dict)]
    for key in ("component", "accessory"):
        if isinstance(node.get(key), dict):
            kids.append(node[key])
    return kids


def components(raw: list[dict[str, Any]], *, flags: int = 0) -> list[JSON]:
    """Validate message components and fill the fields Discord adds (ids, select bounds)."""
    v2 = bool(flags & IS_COMPONENTS_V2)
    if not v2 and len(raw) > 5:
        raise too_long(["components"], 5)
    ids = ComponentIds(raw)
    seen_custom_ids: set[str] = set()

    def walk(node: Any, at: list[str], *, top: bool) -> JSON:
        if not isinstance(node, dict) or not isinstance(node.get("type"), int):
            raise errors.form_error([*at, "type"], "BASE_TYPE_REQUIRED", "This field is required")
        kind = node["type"]
        out: JSON = dict(node)
        # disnake sends ``id: 0`` for "unset"; Discord numbers those like missing ones.
        if not isinstance(out.get("id"), int) or out["id"] <= 0:
            out["id"] = ids.take()
        if top and not v2 and kind != 1:
            raise errors.form_error(
                [*at, "type"], "UNION_TYPE_CHOICES", "Top-level components must be action rows"
            )
        if kind == 4:
            raise errors.form_error(
                [*at, "type"], "UNION_TYPE_CHOICES", "Text inputs are only valid in modals"
            )
        if "custom_id" in out:
            custom_id = out["custom_id"]
            check_len(custom_id, 100, [*at, "custom_id"], minimum=1)
            if custom_id in seen_custom_ids:
                raise errors.form_error(
                    [*at, "custom_id"],
                    "COMPONENT_CUSTOM_ID_DUPLICATED",
                    "Component custom id cannot be duplicated",
                )
            seen_custom_ids.add(custom_id)
        if kind == 1:
            children = node.get("components")
            if not isinstance(children, list) or not children:
                raise errors.form_error(
                    [*at, "components"], "BASE_TYPE_REQUIRED", "This field is required"
                )
            selects = sum(
                1 for c in children if isinstance(c, dict) and c.get("type") in _SELECT_TYPES
            )
            if len(children) > 5 or (selects and len(children) > 1):
                raise too_long([*at, "components"], 1 if selects else 5)
            out["components"] = [
                walk(c, [*at, "components", str(i)], top=False) for i, c in enumerate(children)
            ]
        elif kind == 2:
            style = out.get("style")
            if style not in (1, 2, 3, 4, 5, 6):
                raise errors.form_error([*at, "style"], "BASE_TYPE_CHOICES", "Invalid button style")
            needed = {5: "url", 6: "sku_id"}.get(style, "custom_id")
            if not out.get(needed):
                raise errors.form_error(
                    [*at, needed], "BASE_TYPE_REQUIRED", "This field is required"
                )
            check_len(out.get("label"), 80, [*at, "label"])
        elif kind in _SELECT_TYPES:
            if not out.get("custom_id"):
                raise errors.form_error(
                    [*at, "custom_id"], "BASE_TYPE_REQUIRED", "This field is required"
                )
            out.setdefault("min_values", 1)
            out.setdefault("max_values", 1)
            if kind == 3:
                options = out.get("options")
                if not isinstance(options, list) or not 1 <= len(options) <= 25:
                    raise errors.form_error(
                        [*at, "options"],
                        "BASE_TYPE_BAD_LENGTH",
                        "Must be between 1 and 25 in length.",
                    )
        elif "components" in node and isinstance(node["components"], list):
            out["components"] = [
                walk(c, [*at, "components", str(i)], top=False)
                for i, c in enumerate(node["components"])
            ]
        return out

    return [walk(c, ["components", str(i)], top=True) for i, c in enumerate(raw)]


def content(value: str | None) -> str:
    text = value or ""
    if len(text) > 2000:
        raise too_long(["content"], 2000)
    return text


def require_not_empty(
    text: str, embed_list: list[JSON], component_list: list[JSON], files: int, stickers: int
) -> None:
    if not (text or embed_list or component_list or files or stickers):
        raise DiscordError(400, errors.CANNOT_SEND_EMPTY_MESSAGE, "Cannot send an empty message")


# -- application commands ----------------------------------------------------------------


# The locales Discord accepts as keys of name_localizations and description_localizations.
# fmt: off
DISCORD_LOCALES = frozenset({
    "id", "da", "de", "en-GB", "en-US", "es-ES", "es-419", "fr", "hr", "it", "lt", "hu", "nl",
    "no", "pl", "pt-BR", "ro", "fi", "sv-SE", "vi", "tr", "cs", "el", "bg", "ru", "uk", "hi",
    "th", "zh-CN", "ja", "zh-TW", "ko",
})
# fmt: on


def _check_name(name: Any, path: list[str], *, chat_input: bool) -> None:
    """A command or option name: Discord's pattern in lowercase, or 1-32 free characters."""
    if not chat_input:
        check_len(name, 32, path, minimum=1)
    elif not isinstance(name, str) or not _COMMAND_NAME.match(name) or name != name.lower():
        raise errors.form_error(path, "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")


def _check_localizations(node: Any, at: list[str], *, chat_input: bool) -> None:
    """Each translation obeys the rule of what it translates, under a locale Discord knows."""
    if not isinstance(node, dict):
        return
    for field in ("name_localizations", "description_localizations"):
        values = node.get(field)
        if values is None:
            continue
        if not isinstance(values, dict):
            raise errors.form_error([*at, field], "BASE_TYPE_BAD_TYPE", "Must be an object.")
        for locale, text in values.items():
            path = [*at, field, str(locale)]
            if locale not in DISCORD_LOCALES:
                raise errors.form_error(path, "BASE_TYPE_CHOICES", "Invalid locale")
            if field == "description_localizations":
                check_len(text, 100, path, minimum=1)
            else:
                _check_name(text, path, chat_input=chat_input)


def command(raw: Any, index: int) -> JSON:
    at = [str(index)]
    body = convert(raw, CommandBody)
    if body.type not in (1, 2, 3, 4):
        raise errors.form_error(
            [*at, "type"], "BASE_TYPE_CHOICES", "Value must be one of (1, 2, 3, 4)."
        )
    if body.type == 1:
        if not _COMMAND_NAME.match(body.name) or body.name != body.name.lower():
            raise errors.form_error(
                [*at, "name"], "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid"
            )
        check_len(body.description, 100, [*at, "description"], minimum=1)
    else:
        # User and message commands (right-click menus) have a free-form name and nothing else.
        check_len(body.name, 32, [*at, "name"], minimum=1)
        if body.description:
            raise errors.form_error(
                [*at, "description"],
                "APPLICATION_COMMAND_CONTEXT_MENU_DESCRIPTION",
                "Context menu commands cannot have a description",
            )
        if body.options:
            raise errors.form_error(
                [*at, "options"],
                "APPLICATION_COMMAND_CONTEXT_MENU_OPTIONS",
                "Context menu commands cannot have options",
            )
    _check_localizations(raw, at, chat_input=body.type == 1)
    options = body.options or []
    if len(options) > 25:
        raise too_long([*at, "options"], 25)
    for o_index, option in enumerate(options):
        o_at = [*at, "options", str(o_index)]
        if not isinstance(option.get("type"), int) or not 1 <= option["type"] <= 11:
            raise errors.form_error([*o_at, "type"], "BASE_TYPE_CHOICES", "Invalid option type")
        if not isinstance(option.get("name"), str) or not _COMMAND_NAME.match(option["name"]):
            raise errors.form_error(
                [*o_at, "name"], "APPLICATION_COMMAND_INVALID_NAME", "Option name is invalid"
            )
        check_len(option.get("description"), 100, [*o_at, "description"], minimum=1)
        _check_option_localizations(option, o_at)
    out: JSON = dict(raw)
    out["type"] = body.type
    return out


def _check_option_localizations(option: dict[str, Any], at: list[str]) -> None:
    """An option's translations, its subcommands' and its choices' (1-100 characters)."""
    _check_localizations(option, at, chat_input=True)
    for index, child in enumerate(option.get("options") or []):
        if isinstance(child, dict):
            _check_option_localizations(child, [*at, "options", str(index)])
    for index, choice in enumerate(option.get("choices") or []):
        names = choice.get("name_localizations") if isinstance(choice, dict) else None
        for locale, text in (names or {}).items():
            path = [*at, "choices", str(index), "name_localizations", str(locale)]
            if locale not in DISCORD_LOCALES:
                raise errors.form_error(path, "BASE_TYPE_CHOICES", "Invalid locale")
            check_len(text, 100, path, minimum=1)


def commands(raw: Any) -> list[JSON]:
    if not isinstance(raw, list):
        raise errors.form_error([], "BASE_TYPE_BAD_TYPE", "Must be an array.")
    if len(raw) > 100:
        raise too_long([], 100)
    out = [command(item, i) for i, item in enumerate(raw)]
    seen: set[tuple[str, int]] = set()
    for index, item in enumerate(out):
        key = (item["name"], item["type"])
        if key in seen:
            raise errors.form_error(
                [str(index), "name"],
                "APPLICATION_COMMANDS_DUPLICATE_NAME",
                f"Application command names must be unique: {item['name']}",
            )
        seen.add(key)
    return out


# -- threads -----------------------------------------------------------------------------


class CreateThreadBody(msgspec.Struct):
    name: str
    # Without a message, Discord still defaults to a private thread.
    type: int = 12
    auto_archive_duration: int = 4320
    invitable: bool = True
    rate_limit_per_user: int | None = None


class ModifyThreadBody(msgspec.Struct):
    name: str | None = None
    archived: bool | None = None
    locked: bool | None = None
    auto_archive_duration: int | None = None
    invitable: bool | None = None
    rate_limit_per_user: int | None = None


class ModifyMemberBody(msgspec.Struct):
    nick: str | UnsetType | None = UNSET
    roles: list[Snowflake] | UnsetType | None = UNSET
    communication_disabled_until: str | UnsetType | None = UNSET
