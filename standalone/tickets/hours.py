"""Working hours: a time zone and, per weekday, an opening and closing time or a day off.

Stored as one line of text, Monday first, so it reads as typed and needs no
nested schema: ``"Europe/Berlin 09:00-17:00 09:00-17:00 09:00-17:00 09:00-17:00
09:00-17:00 off off"``. Times are wall-clock times in the zone; every comparison
is made on instants (UTC), so a day that is 23 or 25 hours long (DST) still opens
at its local opening time, which is where v4's day-index search went wrong (#476).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from standalone.i18n import Text

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
OFF = "off"
_TIME = re.compile(r"(\d{1,2}):(\d{2})")
# A week and a day: every schedule with one working day opens within that.
_SEARCH_DAYS = 8


class BadHours(Exception):
    """A schedule or a time as typed cannot be used; carries what to tell the admin."""

    def __init__(self, text: Text) -> None:
        super().__init__(text.key)
        self.text = text


@dataclass(frozen=True)
class Day:
    """One weekday's hours, as minutes after local midnight; ``close`` may be 24:00."""

    open: int
    close: int

    def render(self) -> str:
        """As typed: ``09:00-17:00``."""
        return f"{_clock(self.open)}-{_clock(self.close)}"


@dataclass(frozen=True)
class Schedule:
    """A time zone and seven days (Monday first), each ``Day`` or None for a day off."""

    zone: str
    days: tuple[Day | None, ...]

    @property
    def tz(self) -> ZoneInfo:
        """The zone (checked when the schedule was made)."""
        return ZoneInfo(self.zone)

    def render(self) -> str:
        """The stored form."""
        return " ".join([self.zone, *(d.render() if d else OFF for d in self.days)])

    def _span(self, day: date) -> tuple[datetime, datetime] | None:
        hours = self.days[day.weekday()]
        if hours is None:
            return None
        # In UTC: aware datetimes of one zone compare by wall clock, ignoring DST folds.
        return (
            _instant(day, hours.open, self.tz).astimezone(UTC),
            _instant(day, hours.close, self.tz).astimezone(UTC),
        )

    def is_open(self, now: datetime) -> bool:
        """Whether ``now`` (timezone-aware) falls within a working day's hours."""
        today = now.astimezone(self.tz).date()
        # Yesterday too: near midnight the local date and a shift's date can differ.
        for day in (today - timedelta(days=1), today):
            span = self._span(day)
            if span is not None and span[0] <= now < span[1]:
                return True
        return False

    def next_opening(self, now: datetime) -> datetime | None:
        """The first opening time after ``now``; None when no day is a working day."""
        today = now.astimezone(self.tz).date()
        for offset in range(_SEARCH_DAYS):
            span = self._span(today + timedelta(days=offset))
            if span is not None and span[0] > now:
                return span[0]
        return None


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _instant(day: date, minutes: int, tz: ZoneInfo) -> datetime:
    """The instant a local wall-clock time of ``day`` happens.

    A time skipped by a DST change (02:30 on a spring-forward night) is read with
    the offset before the change, so it lands just after the gap, as a wall clock
    moved forward would show it.
    """
    wall = datetime.combine(day, time(0)) + timedelta(minutes=minutes)
    return wall.replace(tzinfo=tz)


def parse_zone(text: str) -> str:
    """An IANA zone name as typed; refuses names zoneinfo does not know."""
    name = text.strip()
    try:
        if not name or name.startswith(("/", ".")):
            raise ValueError(name)
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadHours(Text("hours.bad_zone", zone=text.strip()[:64])) from None
    return name


def parse_time(text: str, *, closing: bool) -> int:
    """``HH:MM`` as minutes after midnight; 24:00 only as a closing time."""
    found = _TIME.fullmatch(text.strip())
    if found is None:
        raise BadHours(Text("hours.bad_time", time=text.strip()[:20]))
    hours, minutes = int(found[1]), int(found[2])
    if minutes > 59 or hours > 24 or (hours == 24 and (minutes or not closing)):
        raise BadHours(Text("hours.bad_time", time=text.strip()[:20]))
    return hours * 60 + minutes


def parse_day(text: str) -> Day | None:
    """``09:00-17:00`` or ``off``; the close must come after the opening."""
    raw = text.strip().lower()
    if raw in {OFF, "closed", "-", ""}:
        return None
    start, dash, end = raw.replace("\u2013", "-").partition("-")
    if not dash:
        raise BadHours(Text("hours.bad_day", day=text.strip()[:30]))
    opens, closes = parse_time(start, closing=False), parse_time(end, closing=True)
    if closes <= opens:
        raise BadHours(Text("hours.close_before_open", day=text.strip()[:30]))
    return Day(opens, closes)


def make_schedule(zone: str, days: list[str]) -> Schedule:
    """A schedule from a zone name and seven days as typed (Monday first)."""
    if len(days) != len(DAYS):
        raise BadHours(Text("hours.bad_stored"))
    parsed = tuple(parse_day(d) for d in days)
    if all(d is None for d in parsed):
        raise BadHours(Text("hours.no_working_day"))
    return Schedule(parse_zone(zone), parsed)


def parse_schedule(stored: str | None) -> Schedule | None:
    """A stored schedule; None when there is none (or it cannot be read any more)."""
    if not stored:
        return None
    zone, *days = stored.split()
    try:
        return make_schedule(zone, days)
    except BadHours:
        return None
