"""No text reaches a person without the i18n layer: an AST scan of the ticket features.

A string literal with letters passed straight as the text of a reply, a message, an
error, an embed or a component is English for everyone; it belongs in a catalogue.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import regex

ROOT = Path(__file__).resolve().parents[3]
SCANNED = ROOT / "standalone" / "tickets"
# A word: any letter of any script. Emoji, "—", "·", digits and markup are not words.
WORD = regex.compile(r"\p{L}")
# Markup that is not language: a code fence's language tag (```diff).
MARKUP = regex.compile(r"```[a-z]*")
# Modules another piece of work rewrites this round, each with why it is left out.
NOT_YET = {
    "audit.py": "the audit helpers the logs work fills in; its texts go through i18n there",
}

# (callee name, positional index or None, keyword names) whose value is text people read.
TEXT_ARGUMENTS: dict[str, tuple[int | None, frozenset[str]]] = {
    "reply": (1, frozenset({"text"})),
    "send_message": (0, frozenset({"content"})),
    "send": (0, frozenset({"content"})),
    "TicketError": (0, frozenset({"message"})),
    "Embed": (None, frozenset({"title", "description"})),
    "add_field": (None, frozenset({"name", "value"})),
    "set_footer": (None, frozenset({"text"})),
    "set_author": (None, frozenset({"name"})),
    "Button": (None, frozenset({"label"})),
    "TextInput": (None, frozenset({"label", "placeholder"})),
    "StringSelect": (None, frozenset({"placeholder"})),
    "SelectOption": (None, frozenset({"label", "description"})),
    "Label": (0, frozenset({"text"})),
    "Modal": (None, frozenset({"title"})),
}


def _callee(call: ast.Call) -> str | None:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)


def _literals(node: ast.AST) -> Iterator[ast.AST]:
    """String literals that end up in ``node``'s value; a call (Text, t, …) stops the search."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node
    elif isinstance(node, ast.JoinedStr):
        if any(isinstance(part, ast.Constant) for part in node.values):
            yield node
        for part in node.values:
            if isinstance(part, ast.FormattedValue):
                yield from _literals(part.value)
    elif isinstance(node, ast.IfExp):
        yield from _literals(node.body)
        yield from _literals(node.orelse)
    elif isinstance(node, ast.BinOp):
        yield from _literals(node.left)
        yield from _literals(node.right)
    elif isinstance(node, ast.BoolOp):
        for value in node.values:
            yield from _literals(value)


def _words(literal: ast.AST) -> str | None:
    """The literal's own text when it has a word in it (placeholders do not count)."""
    if isinstance(literal, ast.Constant):
        text = str(literal.value)
    else:
        assert isinstance(literal, ast.JoinedStr)
        text = "".join(str(part.value) for part in literal.values if isinstance(part, ast.Constant))
    return text if WORD.search(MARKUP.sub("", text)) else None


def offences(source: str, name: str = "<source>") -> list[str]:
    """``file:line: text`` for each literal text passed where people read it."""
    found: list[str] = []
    for call in ast.walk(ast.parse(source)):
        if not isinstance(call, ast.Call):
            continue
        rule = TEXT_ARGUMENTS.get(_callee(call) or "")
        if rule is None:
            continue
        position, keywords = rule
        values = [k.value for k in call.keywords if k.arg in keywords]
        if position is not None and len(call.args) > position:
            values.append(call.args[position])
        for value in values:
            for literal in _literals(value):
                text = _words(literal)
                if text is not None:
                    found.append(f"{name}:{literal.lineno}: {text!r}")
    return found


def test_the_ticket_features_pass_no_literal_text_to_people() -> None:
    assert all((SCANNED / name).exists() for name in NOT_YET), "drop exemptions of gone files"
    found: list[str] = []
    for path in sorted(SCANNED.rglob("*.py")):
        if path.name in NOT_YET:
            continue
        found += offences(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    assert not found, "text to translate (use Text/t and a catalogue):\n" + "\n".join(found)


def test_the_scan_finds_literal_text_in_every_form() -> None:
    source = """
async def f(inter, ctx, n, ok):
    await reply(inter, "Done.")
    await inter.followup.send(f"Closed {n} tickets.")
    await inter.response.send_message(content="Hi" if ok else Text("x"))
    await channel.send(content="Saved.\\n" + details)
    raise TicketError(f"No ticket #{n}.")
    disnake.Embed(title="Close request", description=t(locale, "a.b"))
    embed.add_field(name="Reason", value=reason)
    disnake.ui.Button(label="Close", emoji="🔒")
    disnake.ui.TextInput(label="Topic")
    disnake.ui.Modal(title=f"{'Edit'} ticket")
"""
    lines = sorted(line.split(": ", 1)[1] for line in offences(source))
    assert lines == sorted(
        [
            "'Done.'",
            "'Closed  tickets.'",
            "'Hi'",
            "'Saved.\\n'",
            "'No ticket #.'",
            "'Close request'",
            "'Reason'",
            "'Close'",
            "'Topic'",
            "' ticket'",
            "'Edit'",
        ]
    ), lines


def test_non_words_and_translated_text_pass() -> None:
    source = """
async def f(inter, ctx, n, locale, text):
    await reply(inter, Text("closing.busy", number=n))
    await inter.followup.send(t(locale, "closing.transcript_of", number=n))
    await channel.send(f"<@{n}> {text}")
    await channel.send(f"{ping}\\n{text}" if ping else text)
    disnake.ui.Button(label=t(locale, "views.close"), emoji="🔒")
    embed.add_field(name="—", value=f"#{n} · {text}")
    raise TicketError(Text("common.not_a_ticket"))
    embed.add_field(name=label, value=f"```diff\\n{body}\\n```")
"""
    assert offences(source) == []
