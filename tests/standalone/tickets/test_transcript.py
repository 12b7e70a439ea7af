from datetime import UTC, datetime

from standalone import keys
from standalone.tickets.transcript import TranscriptHeader, TranscriptMessage, render_html

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
HEADER = TranscriptHeader(
    guild_id="1",
    number=7,
    category="Support <b>",
    creator_id="42",
    topic="<script>x</script>",
    opened_at=NOW,
    closed_at=NOW,
    closed_by="43",
)


def test_user_text_is_escaped_and_messages_appear_in_order():
    messages = [
        TranscriptMessage(
            author_id="42",
            author_name="alex",
            author_bot=False,
            content="first <img src=x onerror=alert(1)>",
            created_at=NOW,
        ),
        TranscriptMessage(
            author_id="9",
            author_name="Tickets",
            author_bot=True,
            content="second",
            created_at=NOW,
            edited=True,
        ),
    ]
    html = render_html(HEADER, messages)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<img" not in html
    assert html.index("first") < html.index("second")
    assert "(edited)" in html and ">BOT<" in html
    assert "Ticket #7" in html and "2 messages" in html


def test_empty_ticket_and_key():
    assert "No messages." in render_html(HEADER, [])
    assert keys.transcript("1", 7) == "transcripts/1/7.html"


def test_mentions_and_people_show_by_name():
    messages = [
        TranscriptMessage(
            author_id="42",
            author_name="alex",
            author_bot=False,
            content="hi <@43> and <@!99>",
            created_at=NOW,
        ),
        TranscriptMessage(
            author_id="43", author_name="sam <i>", author_bot=False, content="hello", created_at=NOW
        ),
    ]
    html = render_html(HEADER, messages)
    assert '<span class="mention">@sam &lt;i&gt;</span>' in html
    assert '<span class="mention">@99</span>' in html  # never wrote: id stays
    assert "Opened by alex" in html and "closed by sam &lt;i&gt;" in html
