"""Hypothesis properties of what members type and click: custom ids, modal answers, durations.

Each parser either succeeds with a value that keeps its promises or refuses with
its own error (which the bot turns into a message to the person); nothing else
may escape.
"""

from __future__ import annotations

import contextlib
import string
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from standalone.db.records import Category, Question
from standalone.tickets import custom_ids, views
from standalone.tickets.closing import guild_and_number
from standalone.tickets.durations import BadDuration, format_ms, parse_ms
from standalone.tickets.errors import TicketError
from standalone.tickets.opening import FormContext, read_answer
from tests.fuzzing import VARIANTS, batches, count, enough, fuzz_settings, json_values

PART = st.text(string.ascii_letters + string.digits + "_-", min_size=0, max_size=70)
NASTY = st.text(
    st.characters(codec="utf-8") | st.sampled_from(list(":.-_ \x00\n/\\%<>@#")), max_size=120
)
CUSTOM_IDS = st.one_of(
    NASTY,
    st.builds(
        lambda action, parts: f"{action}:{'.'.join(parts)}",
        st.sampled_from(sorted(custom_ids.ACTIONS)) | st.text(max_size=12),
        st.lists(PART | st.from_regex(r"[0-9]{1,12}", fullmatch=True), min_size=0, max_size=4),
    ),
)


@pytest.mark.parametrize("variant", VARIANTS)
def test_custom_ids_parse_or_are_refused(variant: str) -> None:
    name = f"custom ids [{variant}]"

    @fuzz_settings(variant, 300, 1_600)
    @given(batches(CUSTOM_IDS, variant))
    def check(batch: list[str]) -> None:
        for raw in batch:
            count(name)
            one(raw)

    def one(raw: str) -> None:
        try:
            action, arguments = custom_ids.parse(raw)
        except custom_ids.BadCustomId:
            return
        assert action in custom_ids.ACTIONS and len(raw) <= 100 and arguments
        # Whatever parses can be built again, unchanged.
        assert custom_ids.make(action, *arguments) == raw
        with contextlib.suppress(custom_ids.BadCustomId):
            assert 0 <= custom_ids.number(arguments) < 10**9
        with contextlib.suppress(custom_ids.BadCustomId):
            guild, number = guild_and_number(arguments)
            assert guild.isdigit() and 0 <= number < 10**9
        try:
            context = FormContext.parse(arguments[0])
        except custom_ids.BadCustomId:
            return
        assert FormContext.parse(context.encode()) == context

    check()
    enough(name, variant, 300, 1_600, batched=True)


QUESTIONS = st.builds(
    lambda kind, required, low, span, options: Question(
        key="q",
        category="c",
        label="Q",
        kind=kind,
        required=required,
        min_length=low,
        max_length=low + span,
        options=options,
    ),
    st.sampled_from(["text", "select"]),
    st.booleans(),
    st.integers(0, 50),
    st.integers(0, 1000),
    st.lists(st.text(max_size=20), max_size=5),
)
SUBMITTED = st.dictionaries(
    st.sampled_from(["q", "topic", "other"]) | st.text(max_size=5),
    json_values(st.none() | st.booleans() | st.integers() | st.text(max_size=60)),
    max_size=3,
)


@pytest.mark.parametrize("variant", VARIANTS)
def test_modal_answers_are_read_or_refused_clearly(variant: str) -> None:
    name = f"modal answers [{variant}]"

    @fuzz_settings(variant, 300, 800)
    @given(batches(st.tuples(QUESTIONS, SUBMITTED), variant))
    def check(batch: list[tuple[Question, dict[str, Any]]]) -> None:
        for question, values in batch:
            count(name)
            one(question, values)

    def one(question: Question, values: dict[str, Any]) -> None:
        try:
            answer = read_answer(question, values)
        except TicketError as exc:
            assert str(exc.args[0] if exc.args else exc)
            return
        assert answer == answer.strip()
        if question.required:
            assert answer
        if answer:
            assert question.min_length <= len(answer) <= question.max_length
            if question.kind == "select":
                assert answer in question.options

    check()
    enough(name, variant, 300, 800, batched=True)


DURATIONS = st.one_of(
    st.text(max_size=30),
    st.lists(st.tuples(st.integers(0, 10_000_000), st.sampled_from("wdhmsxy ")), max_size=4).map(
        lambda parts: "".join(f"{n}{u}" for n, u in parts)
    ),
    st.sampled_from(["off", "none", "0", " OFF ", "1h30m", "2d", ""]),
)


@pytest.mark.parametrize("variant", VARIANTS)
def test_durations_parse_or_are_refused(variant: str) -> None:
    name = f"durations [{variant}]"

    @fuzz_settings(variant, 300, 800)
    @given(batches(DURATIONS, variant))
    def check(batch: list[str]) -> None:
        for raw in batch:
            count(name)
            one(raw)

    def one(raw: str) -> None:
        try:
            ms = parse_ms(raw)
        except BadDuration as exc:
            assert "is not a duration" in str(exc)
            return
        assert ms is None or ms > 0
        assert format_ms(ms)

    check()
    enough(name, variant, 300, 800, batched=True)


TEMPLATES = st.lists(
    st.sampled_from(["{num}", "{username}", "{nickname}", "{category}", "ticket-", "-"]) | NASTY,
    max_size=4,
).map("".join)


@pytest.mark.parametrize("variant", VARIANTS)
def test_channel_names_from_any_template_and_member_name_fit(variant: str) -> None:
    """Admins write the template, members choose their names: the name still fits Discord."""
    name = f"channel names [{variant}]"

    @fuzz_settings(variant, 200, 400)
    @given(batches(st.tuples(TEMPLATES, st.integers(1, 10**9), NASTY, NASTY), variant))
    def check(batch: list[tuple[str, int, str, str]]) -> None:
        for case in batch:
            count(name)
            one(*case)

    def one(template: str, number: int, username: str, display: str) -> None:
        category = Category(
            key="c",
            guild_id="1",
            name="Support",
            staff_roles=[],
            channel_name=template,
            opening_message="",
            member_limit=1,
        )
        channel = views.channel_name(category, number, username, display)
        assert 1 <= len(channel) <= 100, channel

    check()
    enough(name, variant, 200, 400, batched=True)


def test_a_select_answer_that_is_not_text_is_no_answer() -> None:
    """Found by the fuzzing above: ``values: [null]`` from a modified client crashed the read."""
    question = Question(key="q", category="c", label="Q", kind="select", options=["a"])
    with pytest.raises(TicketError, match="Please answer"):
        read_answer(question, {"q": [None]})
    optional = Question(key="q", category="c", label="Q", required=False)
    assert read_answer(optional, {"q": [{"x": 1}]}) == ""
