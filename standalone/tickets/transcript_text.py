"""Transcripts as plain text: what a mail client, a terminal or a screen reader shows best."""

from __future__ import annotations

from standalone.i18n import DEFAULT, t
from standalone.tickets.transcript import TranscriptHeader, TranscriptMessage, participants


def _field(name: str, value: str) -> list[str]:
    """``name: value``, with the value's further lines indented as a message's are.

    A comment, topic or reason is written by people: a line of its own at the margin
    could pass for a header line or a message of someone else.
    """
    first, *rest = value.splitlines() or [""]
    return [f"{name}: {first}", *(f"    {line}" for line in rest)]


def _stamp(header: TranscriptHeader, messages: list[TranscriptMessage], locale: str) -> list[str]:
    def label(key: str) -> str:
        return t(locale, f"transcript.{key}")

    def when(at: object) -> str:
        return t(locale, "transcript.on", at=f"{at:%Y-%m-%d %H:%M:%S} UTC")

    rating = f"{header.rating}/5" if header.rating else t(locale, "close_views.not_given")
    lines = [
        t(locale, "transcript.title", number=header.number, category=header.category),
        f"{label('server')}: {header.guild_id}",
        *_field(label("topic"), header.topic or t(locale, "close_views.no_topic")),
        f"{label('opened_by')}: {header.creator_id} {when(header.opened_at)}",
        f"{label('closed_by')}: {header.closed_by} {when(header.closed_at)}",
        *_field(label("reason"), header.reason or t(locale, "close_views.none_given")),
        f"{label('claimed_by')}: {header.claimed_by or label('not_claimed')}",
        f"{label('rating')}: {rating}",
    ]
    if header.comment:
        lines.extend(_field(label("feedback"), header.comment))
    people = participants(messages)
    if people:
        lines.append(
            f"{label('participants')}: "
            + ", ".join(f"{name} ({uid})" for uid, name in people.items())
        )
    if header.pinned:
        lines.append(f"{label('pinned_messages')}: {', '.join(header.pinned)}")
    if header.answers:
        lines.append("")
        for answer in header.answers:
            lines.append(f"Q: {answer.label}")
            lines.extend(f"A: {line}" for line in answer.value.splitlines() or [""])
    return lines


def render_text(
    header: TranscriptHeader, messages: list[TranscriptMessage], locale: str = DEFAULT
) -> str:
    """The transcript as numbered messages under a header; text is kept as written."""
    lines = _stamp(header, messages, locale)
    lines.append(f"{t(locale, 'transcript.messages')}: {len(messages)}")
    lines.append("")
    width = max(2, len(str(len(messages))))
    pinned = set(header.pinned)
    for index, message in enumerate(messages, start=1):
        marks = [
            t(locale, f"transcript.{mark}")
            for mark, on in (
                ("bot_mark", message.author_bot),
                ("edited", message.edited),
                ("deleted", message.deleted),
                ("pinned", bool(message.message_id) and message.message_id in pinned),
            )
            if on
        ]
        suffix = f" ({', '.join(marks)})" if marks else ""
        lines.append(
            f"M{index:0{width}d} [{message.created_at:%Y-%m-%d %H:%M:%S}] "
            f"{message.author_name} ({message.author_id}){suffix}:"
        )
        lines.extend(f"    {line}" for line in (message.content or "").splitlines() or [""])
    if not messages:
        lines.append(t(locale, "transcript.no_messages"))
    return "\n".join(lines) + "\n"
