"""Modals: the form a bot may show (checked as Discord checks it) and what a submit carries.

Two layouts exist. The old one puts each text input in an action row; the current one
wraps a text input or a select menu in a Label (type 18), with Text Display (type 10)
blocks between them. A submit mirrors the layout: rows keep their inputs, labels carry
their one ``component``, text displays come back as just ``{"type": 10, "id": n}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from . import errors
from .bodies import ComponentIds, check_len
from .models import JSON

ACTION_ROW, STRING_SELECT, TEXT_INPUT, TEXT_DISPLAY, LABEL = 1, 3, 4, 10, 18
SELECTS = frozenset({3, 5, 6, 7, 8})
# File upload, radio group, checkbox group and checkbox: Discord accepts them in a label;
# the actor cannot fill them in yet.
_OTHER_INPUTS = frozenset({19, 21, 22, 23})
_LABEL_CHILDREN = SELECTS | {TEXT_INPUT} | _OTHER_INPUTS
MAX_TOP_LEVEL = 5


def validate(data: Mapping[str, Any]) -> JSON:
    """A modal callback's ``data``, refused like Discord would, with component ids filled in."""
    for key, limit in (("custom_id", 100), ("title", 45)):
        if not data.get(key):
            raise _required(["data", key])
        check_len(data[key], limit, ["data", key])
    tree = data.get("components")
    if not isinstance(tree, list) or not 1 <= len(tree) <= MAX_TOP_LEVEL:
        raise errors.form_error(
            ["data", "components"],
            "BASE_TYPE_BAD_LENGTH",
            f"Must be between 1 and {MAX_TOP_LEVEL} in length.",
        )
    checker = _Checker(tree)
    out = dict(data)
    out["components"] = [
        checker.top(node, ["data", "components", str(i)]) for i, node in enumerate(tree)
    ]
    return out


class _Checker:
    def __init__(self, tree: list[Any]) -> None:
        self.ids = ComponentIds([n for n in tree if isinstance(n, dict)])
        self.custom_ids: set[str] = set()

    def _node(self, node: Any, at: list[str]) -> JSON:
        if not isinstance(node, dict) or not isinstance(node.get("type"), int):
            raise _required([*at, "type"])
        out: JSON = dict(node)
        # disnake sends ``id: 0`` for "unset"; Discord numbers those like missing ones.
        if not isinstance(out.get("id"), int) or out["id"] <= 0:
            out["id"] = self.ids.take()
        return out

    def top(self, node: Any, at: list[str]) -> JSON:
        out = self._node(node, at)
        kind = out["type"]
        if kind == ACTION_ROW:
            children = out.get("components")
            if not isinstance(children, list) or len(children) != 1:
                raise errors.form_error(
                    [*at, "components"], "BASE_TYPE_BAD_LENGTH", "Must be 1 in length."
                )
            child = self._node(children[0], [*at, "components", "0"])
            if child["type"] != TEXT_INPUT:
                raise errors.form_error(
                    [*at, "components", "0", "type"],
                    "UNION_TYPE_CHOICES",
                    "Only text inputs may sit in a modal's action row",
                )
            # In a row, the text input carries its own label.
            if not child.get("label"):
                raise _required([*at, "components", "0", "label"])
            check_len(child["label"], 45, [*at, "components", "0", "label"])
            out["components"] = [self._input(child, [*at, "components", "0"])]
        elif kind == LABEL:
            if not out.get("label"):
                raise _required([*at, "label"])
            check_len(out["label"], 45, [*at, "label"])
            check_len(out.get("description"), 100, [*at, "description"])
            child = self._node(out.get("component"), [*at, "component"])
            if child["type"] not in _LABEL_CHILDREN:
                raise errors.form_error(
                    [*at, "component", "type"],
                    "UNION_TYPE_CHOICES",
                    "A label must wrap an input, a select menu or a file upload",
                )
            if child["type"] == TEXT_INPUT and child.get("label") is not None:
                raise errors.form_error(
                    [*at, "component", "label"],
                    "TEXT_INPUT_LABEL_IN_LABEL",
                    "A text input inside a label cannot have its own label",
                )
            out["component"] = self._input(child, [*at, "component"])
        elif kind == TEXT_DISPLAY:
            if not out.get("content"):
                raise _required([*at, "content"])
            check_len(out["content"], 4000, [*at, "content"])
        else:
            raise errors.form_error(
                [*at, "type"],
                "UNION_TYPE_CHOICES",
                "Modal components must be action rows, labels or text displays",
            )
        return out

    def _input(self, out: JSON, at: list[str]) -> JSON:
        custom_id = out.get("custom_id")
        if not custom_id:
            raise _required([*at, "custom_id"])
        check_len(custom_id, 100, [*at, "custom_id"])
        if custom_id in self.custom_ids:
            raise errors.form_error(
                [*at, "custom_id"],
                "COMPONENT_CUSTOM_ID_DUPLICATED",
                "Component custom id cannot be duplicated",
            )
        self.custom_ids.add(custom_id)
        if out["type"] == TEXT_INPUT:
            if out.get("style") not in (1, 2):
                raise errors.form_error([*at, "style"], "BASE_TYPE_CHOICES", "Invalid style")
            _bounds(out, "min_length", "max_length", 0, 4000, at)
            check_len(out.get("value"), 4000, [*at, "value"])
            check_len(out.get("placeholder"), 100, [*at, "placeholder"])
        elif out["type"] in SELECTS:
            out.setdefault("min_values", 1)
            out.setdefault("max_values", 1)
            _bounds(out, "min_values", "max_values", 0, 25, at)
            if out["type"] == STRING_SELECT:
                options = out.get("options")
                if not isinstance(options, list) or not 1 <= len(options) <= 25:
                    raise errors.form_error(
                        [*at, "options"],
                        "BASE_TYPE_BAD_LENGTH",
                        "Must be between 1 and 25 in length.",
                    )
        return out


def _required(at: list[str]) -> errors.DiscordError:
    return errors.form_error(at, "BASE_TYPE_REQUIRED", "This field is required")


def _bounds(out: JSON, low_key: str, high_key: str, low: int, high: int, at: list[str]) -> None:
    lo, hi = out.get(low_key), out.get(high_key)
    for key, value, floor in ((low_key, lo, low), (high_key, hi, max(low, 1))):
        if value is not None and (not isinstance(value, int) or not floor <= value <= high):
            raise errors.form_error(
                [*at, key], "NUMBER_TYPE_MAX", f"Must be between {floor} and {high}."
            )
    if isinstance(lo, int) and isinstance(hi, int) and lo > hi:
        raise errors.form_error(
            [*at, low_key], "NUMBER_TYPE_MAX", f"Must be less than or equal to {high_key}."
        )


# -- what a member submits -------------------------------------------------------------------


class SubmitError(ValueError):
    """The member's answers would not pass the Discord client's form checks."""


def submission(
    layout: Sequence[Mapping[str, Any]], values: Mapping[str, Any]
) -> tuple[list[JSON], list[tuple[int, str]]]:
    """The submit's ``components`` for ``values`` (custom_id -> text, or chosen values).

    Also returns (select type, id) for every entity chosen in a user, role, mentionable
    or channel select: those need ``resolved`` objects in the interaction data.
    """
    remaining = dict(values)
    picked: list[tuple[int, str]] = []
    out: list[JSON] = []
    for node in layout:
        kind = node.get("type")
        if kind == ACTION_ROW:
            inputs = [_answer(c, remaining, picked) for c in node.get("components", [])]
            out.append({"type": ACTION_ROW, "id": node.get("id"), "components": inputs})
        elif kind == LABEL and isinstance(node.get("component"), Mapping):
            answer = _answer(node["component"], remaining, picked)
            out.append({"type": LABEL, "id": node.get("id"), "component": answer})
        elif kind == TEXT_DISPLAY:
            out.append({"type": TEXT_DISPLAY, "id": node.get("id")})
    if remaining:
        raise SubmitError(f"the modal has no field(s) {sorted(remaining)}")
    return out, picked


def _answer(
    field: Mapping[str, Any], values: dict[str, Any], picked: list[tuple[int, str]]
) -> JSON:
    custom_id = str(field.get("custom_id", ""))
    kind = field.get("type")
    given = values.pop(custom_id, None)
    required = field.get("required", True) is not False
    base: JSON = {"type": kind, "id": field.get("id"), "custom_id": custom_id}
    if kind == TEXT_INPUT:
        text = "" if given is None else str(given)
        if not text and required:
            raise SubmitError(f"modal field {custom_id!r} is required")
        # Lengths are not enforced: a test may play a modified client to probe the bot.
        return base | {"value": text}
    if kind in SELECTS:
        chosen = _chosen(given, kind)
        low, high = int(field.get("min_values", 1)), int(field.get("max_values", 1))
        if not chosen and not required:
            return base | {"values": []}
        if not max(low, 1 if required else 0) <= len(chosen) <= high:
            raise SubmitError(
                f"select {custom_id!r} takes {low} to {high} value(s), got {len(chosen)}: {chosen}"
            )
        if len(set(chosen)) != len(chosen):
            raise SubmitError(f"select {custom_id!r} got a value twice: {chosen}")
        if kind == STRING_SELECT:
            offered = [o.get("value") for o in field.get("options", [])]
            if not set(chosen) <= set(offered):
                raise SubmitError(f"{chosen} not among the options {offered} of {custom_id!r}")
        else:
            picked.extend((int(kind), v) for v in chosen)
        return base | {"values": chosen}
    raise SubmitError(f"modal field {custom_id!r} (type {kind}) cannot be filled in by the actor")


def _chosen(given: Any, kind: Any) -> list[str]:
    if given is None:
        return []
    items = [given] if isinstance(given, str | int) or hasattr(given, "id") else list(given)
    if kind == STRING_SELECT:
        return [str(v) for v in items]
    return [str(getattr(v, "id", v)) for v in items]
