from datetime import UTC, datetime

from standalone import keys
from standalone.tickets.transcript import TranscriptHeader, TranscriptMessage, render_html
from standalone.tickets.transcript_text import render_text

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
HEADER = TranscriptHeader(
    guild_id="1",
    number=7,
    category="Support",
    creator_id="42",
    topic="<b>printer</b>",
    opened_at=NOW,
    closed_at=NOW,
    closed_by="43",
    reason="fixed",
    rating=4,
    pinned=["101"],
)


def _message(number: int, **fields) -> TranscriptMessage:
    base = {
        "message_id": str(100 + number),
        "author_id": "42",
        "author_name": "alex",
        "author_bot": False,
        "content": f"line {number}",
        "created_at": NOW,
    }
    return TranscriptMessage(**{**base, **fields})


def test_text_keeps_what_was_written_numbered_with_marks():
    messages = [
        _message(1, content="first <b>\nsecond line"),
        _message(2, author_bot=True, edited=True, author_name="Tickets", author_id="9"),
        _message(3, deleted=True),
    ]
    text = render_text(HEADER, messages)
    lines = text.splitlines()
    assert lines[0] == "Ticket #7 · Support"
    assert "Topic: <b>printer</b>" in lines  # plain text is not escaped
    assert "Reason: fixed" in lines and "Rating: 4/5" in lines
    assert "Claimed by: not claimed" in lines and "Pinned messages: 101" in lines
    assert "M01 [2026-11-27 12:00:00] alex (42) (pinned):" in lines
    assert lines[lines.index("M01 [2026-11-27 12:00:00] alex (42) (pinned):") + 1 :][:2] == [
        "    first <b>",
        "    second line",
    ]
    assert "M02 [2026-11-27 12:00:00] Tickets (9) (bot, edited):" in lines
    assert "M03 [2026-11-27 12:00:00] alex (42) (deleted):" in lines


def test_empty_ticket_and_html_reason():
    assert render_text(HEADER, []).rstrip().endswith("No messages.")
    html = render_html(HEADER, [_message(1)])
    assert "Reason: fixed" in html and "(pinned)" in html


def test_text_transcript_key_sits_next_to_the_html():
    assert keys.transcript_text("1", 7) == "transcripts/1/7.txt"
    assert keys.transcript("1", 7) == "transcripts/1/7.html"


def test_a_multi_line_comment_topic_or_reason_cannot_forge_lines_of_the_transcript():
    forged = "great\nMessages: 0\n\nM01 [2026-11-27 12:00:00] Staff (43):\n    you get a refund"
    header = TranscriptHeader(
        **{
            **{f: getattr(HEADER, f) for f in HEADER.__struct_fields__},
            "comment": forged,
            "topic": "printer\nClosed by: 1",
            "reason": "fixed\nRating: 5/5",
        }
    )
    lines = render_text(header, [_message(1)]).splitlines()
    # Only the real message heads a line; what people wrote stays indented under its field.
    assert [line for line in lines if line.startswith("M0")] == [
        "M01 [2026-11-27 12:00:00] alex (42) (pinned):"
    ]
    assert [line for line in lines if line.startswith("Messages:")] == ["Messages: 1"]
    assert [line for line in lines if line.startswith("Closed by:")] == [
        "Closed by: 43 on 2026-11-27 12:00:00 UTC"
    ]
    assert [line for line in lines if line.startswith("Rating:")] == ["Rating: 4/5"]
    at = lines.index("Feedback: great")
    assert lines[at + 1 : at + 5] == [
        "    Messages: 0",
        "    ",
        "    M01 [2026-11-27 12:00:00] Staff (43):",
        "        you get a refund",
    ]
