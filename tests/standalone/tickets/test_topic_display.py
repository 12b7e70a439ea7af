"""Long answers and topics are clipped for Discord's limits, with an ellipsis."""

from __future__ import annotations

from standalone.db.records import Answer, GuildSettings
from standalone.tickets.topic import FIELD_MAX, clip, diff_block
from standalone.tickets.views import answers_embed


def test_clip_keeps_short_text_and_marks_a_cut():
    assert clip("short", 10) == "short"
    assert clip("x" * 11, 10) == "x" * 9 + "…"


def test_a_diff_of_long_text_fits_an_embed_field():
    block = diff_block("a" * 4000, "b\n" * 2000)
    assert len(block) <= FIELD_MAX and block.startswith("```diff\n- aaa") and "…" in block


def test_a_long_answer_is_clipped_in_the_opening_embed():
    settings = GuildSettings(guild_id="1")
    embed = answers_embed([Answer(question="q", label="Details", value="z" * 3000)], None, settings)
    assert embed is not None
    (field,) = embed.fields
    assert len(field.value) == 1024 and field.value.endswith("…")
    topic = answers_embed([], "t" * 4000, settings)
    assert topic is not None and topic.description == "t" * 4000
