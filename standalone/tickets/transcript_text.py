"""Transcripts as plain text: what a mail client, a terminal or a screen reader shows best."""

from __future__ import annotations

from standalone.tickets.transcript import TranscriptHeader, TranscriptMessage, participants


def _field(name: str, value: str) -> list[str]:
    """``name: value``, with the value's further lines indented as a message's are.

    A comment, topic or reason is written by people: a line of its own at the margin
    could pass for a header line or a message of someone else.
    """
    first, *rest = value.splitlines() or [""]
    return [f"{name}: {first}", *(f"    {line}" for line in rest)]


def _stamp(header: TranscriptHeader, messages: list[TranscriptMessage]) -> list[str]:
    closer = header.closed_by
    lines = [
        f"Ticket #{header.number} · {header.category}",
        f"Server: {header.guild_id}",
        *_field("Topic", header.topic or "(no topic)"),
        f"Opened by: {header.creator_id} on {header.opened_at:%Y-%m-%d %H:%M:%S} UTC",
        f"Closed by: {closer} on {header.closed_at:%Y-%m-%d %H:%M:%S} UTC",
        *_field("Reason", header.reason or "(none given)"),
        f"Claimed by: {header.claimed_by or 'not claimed'}",
        f"Rating: {f'{header.rating}/5' if header.rating else 'not given'}",
    ]
    if header.comment:
        lines.extend(_field("Feedback", header.comment))
    people = participants(messages)
    if people:
        lines.append(
            "Participants: " + ", ".join(f"{name} ({uid})" for uid, name in people.items())
        )
    if header.pinned:
        lines.append(f"Pinned messages: {', '.join(header.pinned)}")
    if header.answers:
        lines.append("")
        for answer in header.answers:
            lines.append(f"Q: {answer.label}")
            lines.extend(f"A: {line}" for line in answer.value.splitlines() or [""])
    return lines


def render_text(header: TranscriptHeader, messages: list[TranscriptMessage]) -> str:
    """The transcript as numbered messages under a header; text is kept as written."""
    lines = _stamp(header, messages)
    lines.append(f"Messages: {len(messages)}")
    lines.append("")
    width = max(2, len(str(len(messages))))
    pinned = set(header.pinned)
    for index, message in enumerate(messages, start=1):
        marks = [
            mark
            for mark, on in (
                ("bot", message.author_bot),
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
        lines.append("No messages.")
    return "\n".join(lines) + "\n"
