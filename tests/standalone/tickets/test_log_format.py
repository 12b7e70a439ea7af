"""Log entries fit Discord's embed limits however long what they show is."""

from standalone.tickets.log_format import (
    EMBED_MAX,
    FIELD_VALUE_MAX,
    FOOTER_ROOM,
    clip,
    diff_block,
    duration,
    entry,
)


def size(embed) -> int:
    data = embed.to_dict()
    return len(data.get("title", "")) + sum(
        len(f["name"]) + len(f["value"]) for f in data.get("fields", [])
    )


def test_a_diff_block_of_long_texts_stays_a_closed_block_within_a_field():
    block = diff_block("a" * 5000, "b\n" * 3000)
    assert len(block) <= FIELD_VALUE_MAX
    assert block.startswith("```diff\n- aaa") and block.endswith("\n```")
    assert "\n+ b" in block and "…" in block


def test_backticks_in_a_text_cannot_end_the_block_early():
    block = diff_block("```rm -rf```", None)
    assert block.count("```") == 2


def test_many_long_fields_are_cut_to_6000_in_all():
    embed = entry("t" * 400, 0, [(f"field {n}" * 40, "x" * 3000) for n in range(40)])
    data = embed.to_dict()
    assert len(data["title"]) == 256
    assert len(data["fields"]) <= 25
    assert all(len(f["value"]) <= FIELD_VALUE_MAX for f in data["fields"])
    assert all(len(f["name"]) <= 256 for f in data["fields"])
    assert size(embed) <= EMBED_MAX - FOOTER_ROOM
    # A value that is a code block is cut inside the block.
    cut = entry("t", 0, [("f", diff_block(None, "y" * 900)), ("g", "```" + "z" * 2000 + "```")])
    assert all(f["value"].endswith("```") for f in cut.to_dict()["fields"])


def test_empty_values_show_a_dash_and_clip_marks_the_cut():
    assert entry("t", 0, [("f", "")]).to_dict()["fields"][0]["value"] == "—"
    assert clip("abcdef", 4) == "abc…" and clip("abc", 4) == "abc"


def test_durations_are_words_of_the_locale():
    assert duration("en-GB", 2700) == "45 minutes"
    assert duration("de", 3 * 3600) == "3 Stunden"
    assert duration("fr", 86400) == "1\u00a0jour"  # babel keeps French typography
    assert duration("es-ES", 7200) == "2 horas"
