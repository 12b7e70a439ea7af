"""Transcripts: a ticket's archived messages rendered as a page a browser shows like Discord."""

from __future__ import annotations

import re
from datetime import datetime
from html import escape

import msgspec

from standalone.i18n import DEFAULT, t

_STYLE = """
body{margin:0;background:#313338;color:#dbdee1;font:16px/1.375 "gg sans","Noto Sans",
"Helvetica Neue",Helvetica,Arial,sans-serif}
header{padding:16px 24px;border-bottom:1px solid #1f2023;background:#2b2d31}
header h1{margin:0 0 4px;font-size:20px;color:#f2f3f5}
header p{margin:2px 0;color:#b5bac1;font-size:14px}
main{padding:8px 0 24px}
.msg{display:flex;gap:16px;padding:4px 24px}
.msg:hover{background:#2e3035}
.avatar{flex:none;width:40px;height:40px;border-radius:50%;background:#5865f2;color:#fff;
display:flex;align-items:center;justify-content:center;font-weight:600}
.name{font-weight:500;color:#f2f3f5}
.bot{background:#5865f2;color:#fff;font-size:10px;border-radius:3px;padding:1px 4px;margin-left:4px}
time{margin-left:8px;font-size:12px;color:#949ba4}
.content{white-space:pre-wrap;word-wrap:break-word}
.empty{padding:24px;color:#949ba4}
.deleted .content{color:#949ba4;text-decoration:line-through}
.flag{margin-left:6px;font-size:11px;color:#949ba4}
.deleted .flag{color:#f23f43}
details.edits{font-size:13px;color:#949ba4}
details.edits .content{border-left:2px solid #4e5058;padding-left:8px;margin:2px 0}
.answers{padding:8px 24px;border-bottom:1px solid #1f2023}
.answers dt{font-size:12px;font-weight:600;color:#b5bac1;text-transform:uppercase}
.answers dd{margin:0 0 8px}
.mention{background:rgba(88,101,242,.3);color:#c9cdfb;border-radius:3px;padding:0 2px}
"""


class TranscriptEdit(msgspec.Struct, frozen=True, kw_only=True):
    """An earlier version of an edited message (decrypted) and when it was replaced."""

    content: str
    at: datetime


class TranscriptMessage(msgspec.Struct, frozen=True, kw_only=True):
    """One message as it appears in a transcript (decrypted)."""

    author_id: str
    author_name: str
    author_bot: bool
    content: str
    created_at: datetime
    edited: bool = False
    deleted: bool = False
    edits: list[TranscriptEdit] = []  # oldest first
    message_id: str = ""


class TranscriptAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """A question of the opening form and the member's answer (decrypted)."""

    label: str
    value: str


class TranscriptHeader(msgspec.Struct, frozen=True, kw_only=True):
    """What the transcript says about the ticket."""

    guild_id: str
    number: int
    category: str
    creator_id: str
    topic: str | None
    opened_at: datetime
    closed_at: datetime
    closed_by: str
    reason: str | None = None
    claimed_by: str | None = None
    rating: int | None = None
    comment: str | None = None  # the creator's feedback
    pinned: list[str] = []  # message ids pinned when it closed
    answers: list[TranscriptAnswer] = []


def participants(messages: list[TranscriptMessage]) -> dict[str, str]:
    """The people (not bots) who wrote in the ticket, id to name, in order of first message."""
    found: dict[str, str] = {}
    for message in messages:
        if not message.author_bot:
            found.setdefault(message.author_id, message.author_name)
    return found


_MENTION = re.compile(r"&lt;@!?(\d{1,20})&gt;")


def _content(text: str, names: dict[str, str]) -> str:
    """Escape, then show user mentions as Discord does: a highlighted @name."""

    def mention(match: re.Match[str]) -> str:
        name = names.get(match[1], match[1])
        return f'<span class="mention">@{escape(name)}</span>'

    return _MENTION.sub(mention, escape(text))


def _flag(locale: str, key: str) -> str:
    return f'<span class="flag">({escape(t(locale, key))})</span>'


def _message(
    message: TranscriptMessage, names: dict[str, str], pinned: set[str], locale: str
) -> str:
    initial = escape(message.author_name[:1].upper() or "?")
    bot = escape(t(locale, "transcript.bot"))
    badge = f'<span class="bot">{bot}</span>' if message.author_bot else ""
    flags = _flag(locale, "transcript.edited") if message.edited else ""
    flags += _flag(locale, "transcript.deleted") if message.deleted else ""
    flags += _flag(locale, "transcript.pinned") if message.message_id in pinned else ""
    stamp = message.created_at.strftime("%Y-%m-%d %H:%M UTC")
    return (
        f'<div class="msg{" deleted" if message.deleted else ""}">'
        f'<div class="avatar">{initial}</div><div>'
        f'<span class="name">{escape(message.author_name)}</span>{badge}'
        f'<time datetime="{message.created_at.isoformat()}">{stamp}</time>{flags}'
        f'<div class="content">{_content(message.content, names)}</div>'
        f"{_edits(message.edits, names, locale)}</div></div>"
    )


def _edits(edits: list[TranscriptEdit], names: dict[str, str], locale: str) -> str:
    if not edits:
        return ""
    versions = "".join(
        f'<div class="edit"><time datetime="{e.at.isoformat()}">'
        f"{escape(t(locale, 'transcript.replaced', at=f'{e.at:%Y-%m-%d %H:%M} UTC'))}</time>"
        f'<div class="content">{_content(e.content, names)}</div></div>'
        for e in edits
    )
    summary = f"<summary>{escape(t(locale, 'transcript.versions', count=len(edits)))}</summary>"
    return f'<details class="edits">{summary}{versions}</details>'


def render_html(
    header: TranscriptHeader, messages: list[TranscriptMessage], locale: str = DEFAULT
) -> str:
    """The transcript as a standalone HTML page; all user text is escaped."""
    # Names as the ticket's own messages show them; people who never wrote keep their id.
    names = {m.author_id: m.author_name for m in messages}
    pinned = set(header.pinned)
    body = "\n".join(_message(m, names, pinned, locale) for m in messages)
    body = body or f'<p class="empty">{escape(t(locale, "transcript.no_messages"))}</p>'
    topic = header.topic or t(locale, "close_views.no_topic")
    creator = names.get(header.creator_id, header.creator_id)
    closer = names.get(header.closed_by, header.closed_by)
    title = escape(t(locale, "transcript.title", number=header.number, category=header.category))
    # The template is ours; every value in it is escaped once the text is filled.
    opened = t(
        locale,
        "transcript.opened_closed",
        creator=creator,
        opened=f"{header.opened_at:%Y-%m-%d %H:%M} UTC",
        closer=closer,
        closed=f"{header.closed_at:%Y-%m-%d %H:%M} UTC",
    )
    count = t(locale, "transcript.message_count", count=len(messages))
    return (
        "<!doctype html>\n"
        f'<html lang="{escape(locale)}"><head><meta charset="utf-8">'
        f"<title>{title}</title>"
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<style>{_STYLE}</style></head><body>"
        f"<header><h1>{title}</h1>"
        f"<p>{escape(t(locale, 'transcript.topic'))}: {escape(topic)}</p>"
        f"<p>{escape(opened)}</p>"
        f"{_facts(header, names, messages, locale)}<p>{escape(count)}</p></header>"
        f"{_answers(header.answers)}<main>\n{body}\n</main></body></html>\n"
    )


def facts(
    header: TranscriptHeader, names: dict[str, str], messages: list[TranscriptMessage], locale: str
) -> list[tuple[str, str]]:
    """The header's labelled facts (unescaped): reason, claim, rating, feedback, people."""
    found: list[tuple[str, str]] = []
    if header.reason:
        found.append(("transcript.reason", header.reason))
    claimer = names.get(header.claimed_by, header.claimed_by) if header.claimed_by else None
    found.append(("transcript.claimed_by", claimer or t(locale, "transcript.not_claimed")))
    rating = f"{header.rating}/5" if header.rating else t(locale, "close_views.not_given")
    found.append(("transcript.rating", rating))
    if header.comment:
        found.append(("transcript.feedback", header.comment))
    people = participants(messages)
    if people:
        found.append(("transcript.participants", ", ".join(people.values())))
    return found


def _facts(
    header: TranscriptHeader, names: dict[str, str], messages: list[TranscriptMessage], locale: str
) -> str:
    return "".join(
        f"<p>{escape(t(locale, key))}: {escape(value)}</p>"
        for key, value in facts(header, names, messages, locale)
    )


def _answers(answers: list[TranscriptAnswer]) -> str:
    if not answers:
        return ""
    pairs = "".join(
        f'<dt>{escape(a.label)}</dt><dd class="content">{escape(a.value)}</dd>' for a in answers
    )
    return f'<section class="answers"><dl>{pairs}</dl></section>'
