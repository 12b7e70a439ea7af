"""Priority emoji in channel names, and names as Discord stores them."""

from __future__ import annotations

from standalone.i18n import t
from standalone.tickets.renaming import as_discord_shows, strip_priority, wait_text, with_priority


def test_the_priority_emoji_replaces_any_earlier_one():
    assert with_priority("ticket-7", "high") == "🔴ticket-7"
    assert with_priority("🔴ticket-7", "low") == "🟢ticket-7"
    assert with_priority("🟠🔴ticket-7", None) == "ticket-7"
    assert strip_priority("🟢") == ""
    assert len(with_priority("x" * 120, "medium")) == 100


def test_text_channel_names_are_compared_as_discord_stores_them():
    assert as_discord_shows("  Printer  Fire ", thread=False) == "printer-fire"
    assert as_discord_shows("a - b", thread=False) == "a-b"
    assert as_discord_shows("Printer Fire", thread=True) == "Printer Fire"


def test_the_wait_is_whole_minutes_rounded_up_in_each_language():
    assert wait_text(1).render("en-GB").endswith("try again in 1 minute.")
    assert wait_text(61).render("en-GB").endswith("try again in 2 minutes.")
    assert wait_text(599.5).render("de").endswith("in 10 Minuten erneut.")
    assert "dans 1 minute" in wait_text(30).render("fr")
    assert t("es-ES", "staff.rename_wait", count=3).endswith("dentro de 3 minutos.")
