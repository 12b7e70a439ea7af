"""Working hours: parsing as typed, and the next opening across days off, midnight and DST."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from standalone.i18n import t
from standalone.tickets.hours import BadHours, make_schedule, parse_schedule

WEEK = ["09:00-17:00"] * 5 + ["off", "off"]
BERLIN = ZoneInfo("Europe/Berlin")


def at(zone: ZoneInfo, *parts: int) -> datetime:
    return datetime(*parts, tzinfo=zone).astimezone(UTC)  # type: ignore[misc]


def test_a_stored_schedule_reads_back_as_typed():
    schedule = make_schedule("Europe/Berlin", [*WEEK[:4], "10:00-24:00", "off", "off"])
    stored = schedule.render()
    assert stored == (
        "Europe/Berlin 09:00-17:00 09:00-17:00 09:00-17:00 09:00-17:00 10:00-24:00 off off"
    )
    assert parse_schedule(stored) == schedule
    assert parse_schedule(None) is None and parse_schedule("Mars/Base 1 2") is None


@pytest.mark.parametrize(
    ("zone", "days", "key", "shown"),
    [
        ("Mars/Olympus", WEEK, "hours.bad_zone", "Mars/Olympus"),
        ("../etc/passwd", WEEK, "hours.bad_zone", "../etc/passwd"),
        ("UTC", ["25:00-26:00", *WEEK[1:]], "hours.bad_time", "25:00"),
        ("UTC", ["09:60-17:00", *WEEK[1:]], "hours.bad_time", "09:60"),
        ("UTC", ["24:00-24:00", *WEEK[1:]], "hours.bad_time", "24:00"),
        ("UTC", ["17:00-09:00", *WEEK[1:]], "hours.close_before_open", "17:00-09:00"),
        ("UTC", ["09:00-09:00", *WEEK[1:]], "hours.close_before_open", "09:00-09:00"),
        ("UTC", ["nine to five", *WEEK[1:]], "hours.bad_day", "nine to five"),
        ("UTC", ["off"] * 7, "hours.no_working_day", ""),
    ],
)
def test_bad_hours_are_refused_with_what_was_wrong(zone, days, key, shown):
    with pytest.raises(BadHours) as refused:
        make_schedule(zone, days)
    assert refused.value.text.key == key
    assert shown in refused.value.text.render("en-GB")
    assert t("de", key, **refused.value.text.values) != t("en-GB", key, **refused.value.text.values)


def test_open_within_hours_and_closed_outside():
    schedule = make_schedule("Europe/Berlin", WEEK)
    assert schedule.is_open(at(BERLIN, 2026, 11, 25, 9, 0))  # a Wednesday
    assert schedule.is_open(at(BERLIN, 2026, 11, 25, 16, 59))
    assert not schedule.is_open(at(BERLIN, 2026, 11, 25, 17, 0))
    assert not schedule.is_open(at(BERLIN, 2026, 11, 25, 8, 59))
    assert not schedule.is_open(at(BERLIN, 2026, 11, 28, 12, 0))  # Saturday


def test_the_next_opening_skips_days_off():
    schedule = make_schedule("Europe/Berlin", WEEK)
    friday_evening = at(BERLIN, 2026, 11, 27, 18, 0)
    assert schedule.next_opening(friday_evening) == at(BERLIN, 2026, 11, 30, 9, 0)
    # Before today's opening it is today, not tomorrow (v4 #476 skipped to the next day).
    assert schedule.next_opening(at(BERLIN, 2026, 11, 25, 7, 0)) == at(BERLIN, 2026, 11, 25, 9)
    # Only Sundays: from a Sunday afternoon, a week later.
    sundays = make_schedule("UTC", ["off"] * 6 + ["10:00-12:00"])
    assert sundays.next_opening(datetime(2026, 11, 29, 13, tzinfo=UTC)) == datetime(
        2026, 12, 6, 10, tzinfo=UTC
    )


def test_midnight_in_a_zone_far_from_utc():
    # 23:30 UTC on a Sunday is already Monday 08:30 in Tokyo: opens in half an hour.
    schedule = make_schedule("Asia/Tokyo", WEEK)
    sunday_late_utc = datetime(2026, 11, 29, 23, 30, tzinfo=UTC)
    assert not schedule.is_open(sunday_late_utc)
    assert schedule.next_opening(sunday_late_utc) == datetime(2026, 11, 30, 0, 0, tzinfo=UTC)
    # Open until midnight: 23:59 is open, 00:00 the next day is not.
    late = make_schedule("UTC", ["18:00-24:00"] * 7)
    assert late.is_open(datetime(2026, 11, 25, 23, 59, tzinfo=UTC))
    assert not late.is_open(datetime(2026, 11, 26, 0, 0, tzinfo=UTC))


def test_daylight_saving_changes_keep_the_local_opening_time():
    schedule = make_schedule("Europe/Berlin", ["off"] * 6 + ["09:00-17:00"])
    # Sunday 29 March 2026 clocks go forward at 02:00: 09:00 is 07:00 UTC, not 08:00.
    saturday = datetime(2026, 3, 28, 12, tzinfo=UTC)
    assert schedule.next_opening(saturday) == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)
    # Sunday 25 October 2026 clocks go back: 09:00 is 08:00 UTC.
    assert schedule.next_opening(datetime(2026, 10, 24, 12, tzinfo=UTC)) == datetime(
        2026, 10, 25, 8, 0, tzinfo=UTC
    )
    # A shift starting inside the skipped hour opens when the clocks show it again.
    gap = make_schedule("Europe/Berlin", ["off"] * 6 + ["02:30-05:00"])
    opening = gap.next_opening(saturday)
    assert opening is not None
    assert opening.astimezone(BERLIN).strftime("%H:%M") == "03:30"
    assert gap.is_open(datetime(2026, 3, 29, 2, 0, tzinfo=UTC))  # 04:00 local
