from datetime import timedelta

import pytest

from standalone.tickets.errors import TicketError
from standalone.tickets.force_close import parse_duration, parse_number


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2d", timedelta(days=2)),
        ("12h", timedelta(hours=12)),
        ("30m", timedelta(minutes=30)),
        (" 1d 6h ", timedelta(days=1, hours=6)),
        ("1w", timedelta(weeks=1)),
        ("90s", timedelta(seconds=90)),
        ("2D", timedelta(days=2)),
    ],
)
def test_durations(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "soon", "2", "d", "2x", "2d soon", "-1d", "1.5h", "0s"])
def test_bad_durations_are_refused_clearly(text):
    with pytest.raises(TicketError) as refused:
        parse_duration(text)
    assert "time" in refused.value.message


@pytest.mark.parametrize(("text", "expected"), [("12", 12), ("#12", 12), (" # 3 ", 3)])
def test_ticket_numbers(text, expected):
    assert parse_number(text) == expected


@pytest.mark.parametrize("text", ["", "#", "twelve", "1e3", "1234567890", ".*"])
def test_bad_ticket_numbers(text):
    with pytest.raises(TicketError):
        parse_number(text)
