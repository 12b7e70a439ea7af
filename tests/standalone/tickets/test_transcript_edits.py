from datetime import UTC, datetime, timedelta

from standalone.tickets.transcript import (
    TranscriptEdit,
    TranscriptHeader,
    TranscriptMessage,
    render_html,
)

T0 = datetime(2026, 1, 1, 12, tzinfo=UTC)
HEADER = TranscriptHeader(
    guild_id="1",
    number=4,
    category="Support",
    creator_id="7",
    topic=None,
    opened_at=T0,
    closed_at=T0 + timedelta(hours=1),
    closed_by="7",
)


def message(**fields) -> TranscriptMessage:
    base = {
        "author_id": "7",
        "author_name": "alex",
        "author_bot": False,
        "content": "now",
        "created_at": T0,
    }
    return TranscriptMessage(**(base | fields))


def test_earlier_versions_are_listed_escaped_under_the_message():
    html = render_html(
        HEADER,
        [
            message(
                edited=True,
                edits=[
                    TranscriptEdit(content="<script>x</script>", at=T0 + timedelta(minutes=1)),
                    TranscriptEdit(content="second", at=T0 + timedelta(minutes=2)),
                ],
            )
        ],
    )
    assert "2 earlier version(s)" in html and "(edited)" in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html and "<script>x" not in html
    assert html.index("now") < html.index("&lt;script&gt;") < html.index("second")
    assert "replaced 2026-01-01 12:01 UTC" in html


def test_deleted_messages_are_marked_and_plain_ones_are_not():
    html = render_html(HEADER, [message(deleted=True, content="gone"), message(content="here")])
    assert html.count('class="msg deleted"') == 1 and html.count("(deleted)") == 1
    assert "earlier version" not in html and "(edited)" not in html
