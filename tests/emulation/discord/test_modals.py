"""Modals with labels, select menus and text displays, as disnake 2.12 sends them."""

from __future__ import annotations

import asyncio

import disnake
import pytest

from emulation.discord import ActorError, FakeDiscord

from .conftest import Api, Setup
from .test_gateway import TIMEOUT, make_bot, running


def form() -> list[disnake.ui.WrappedComponent]:
    return [
        disnake.ui.TextDisplay("Tell us what happened."),
        disnake.ui.Label(
            "Topic", disnake.ui.TextInput(custom_id="topic", min_length=5, max_length=100)
        ),
        disnake.ui.Label(
            "Kind",
            disnake.ui.StringSelect(
                custom_id="kind", options=["billing", "bug", "other"], min_values=1, max_values=2
            ),
            description="Pick one or two",
        ),
        disnake.ui.Label("Who else", disnake.ui.UserSelect(custom_id="who", required=False)),
        disnake.ui.Label("Team", disnake.ui.RoleSelect(custom_id="team")),
    ]


async def test_label_modal_round_trips_through_disnake(fd: FakeDiscord, setup: Setup):
    bot = make_bot()
    bob = fd.add_member(setup.guild.id, "bob")

    @bot.slash_command(description="Open a ticket")
    async def ticket(inter: disnake.ApplicationCommandInteraction) -> None:
        await inter.response.send_modal(title="New ticket", custom_id="new", components=form())

    async with running(fd, bot, setup.app.token) as parse_failures:
        await asyncio.wait_for(_registered(fd, setup.app.id), TIMEOUT)
        actor = fd.actor(setup.app.id, setup.guild.id, setup.alice.id)
        opened = await actor.slash("ticket", channel_id=setup.general.id)
        shown = await opened.response(timeout=TIMEOUT)
        assert shown["type"] == 9
        # Discord numbers the components disnake sent with id 0.
        ids = [c["id"] for c in shown["data"]["components"]]
        assert ids == sorted(set(ids)) and 0 not in ids

        submitted = asyncio.create_task(bot.wait_for("modal_submit", timeout=TIMEOUT))
        submit = await actor.submit_modal(
            "new",
            {
                "topic": "Printer on fire",
                "kind": ["bug", "other"],
                "who": [bob],
                "team": setup.staff,
            },
        )
        modal = await submitted
        assert modal.text_values == {"topic": "Printer on fire"}
        assert modal.values == {
            "topic": "Printer on fire",
            "kind": ["bug", "other"],
            "who": [str(bob.id)],
            "team": [str(setup.staff.id)],
        }
        resolved = modal.resolved_values
        assert [m.id for m in resolved["who"]] == [bob.id]
        assert [r.name for r in resolved["team"]] == ["Staff"]
        await modal.response.send_message("Opened", ephemeral=True)
        assert (await submit.response(timeout=TIMEOUT))["data"]["content"] == "Opened"

        # The optional user select may stay empty; the payload then carries no values.
        again = await actor.slash("ticket", channel_id=setup.general.id)
        await again.response(timeout=TIMEOUT)
        submitted = asyncio.create_task(bot.wait_for("modal_submit", timeout=TIMEOUT))
        answers = {"topic": "Again", "kind": "billing", "team": [setup.staff]}
        await actor.submit_modal("new", answers)
        modal = await submitted
        assert modal.values["who"] == [] and modal.values["kind"] == ["billing"]
    assert parse_failures == []
    assert fd.server_errors == []


async def _registered(fd: FakeDiscord, app_id: int) -> None:
    while not fd.commands(app_id):
        await asyncio.sleep(0.02)


async def _shown(fd: FakeDiscord, setup: Setup, api: Api, modal: dict) -> tuple[int, dict]:
    await api.call(
        "PUT", f"/applications/{setup.app.id}/commands", [{"name": "ticket", "description": "T"}]
    )
    inter = await fd.actor(setup.app.id, setup.guild.id, setup.alice.id).slash("ticket")
    status, body, _ = await api.call(
        "POST", f"/interactions/{inter.id}/{inter.token}/callback", {"type": 9, "data": modal}
    )
    return status, body or {}


def label_modal() -> dict:
    modal = disnake.ui.Modal(title="New ticket", custom_id="new", components=form())
    return dict(modal.to_components())


async def test_submit_payload_mirrors_the_layout(fd: FakeDiscord, setup: Setup, api: Api):
    status, _ = await _shown(fd, setup, api, label_modal())
    assert status == 204
    actor = fd.actor(setup.app.id, setup.guild.id, setup.alice.id)
    submit = await actor.submit_modal(
        "new", {"topic": "hello world", "kind": ["bug"], "team": [setup.staff.id]}
    )
    data = submit.payload["data"]
    text, topic, kind, who, team = data["components"]
    assert text == {"type": 10, "id": 1}
    assert topic["type"] == 18 and topic["component"] == {
        "type": 4,
        "id": topic["id"] + 1,
        "custom_id": "topic",
        "value": "hello world",
    }
    assert kind["component"]["values"] == ["bug"] and kind["component"]["type"] == 3
    assert who["component"] == {"type": 5, "id": who["id"] + 1, "custom_id": "who", "values": []}
    assert team["component"]["values"] == [str(setup.staff.id)]
    assert data["resolved"]["roles"][str(setup.staff.id)]["name"] == "Staff"


@pytest.mark.parametrize(
    ("values", "complaint"),
    [
        ({"topic": "hello", "kind": ["refund"], "team": [1]}, "not among the options"),
        ({"topic": "hello", "kind": ["bug", "billing", "other"], "team": [1]}, "1 to 2 value"),
        ({"topic": "hello", "kind": [], "team": [1]}, "1 to 2 value"),
        ({"topic": "hello", "kind": ["bug", "bug"], "team": [1]}, "twice"),
        ({"topic": "", "kind": ["bug"], "team": [1]}, "'topic' is required"),
        ({"topic": "hello", "kind": ["bug"]}, "'team' takes 1 to 1"),
        ({"topic": "hello", "kind": ["bug"], "team": [1], "extra": "x"}, "no field"),
    ],
)
async def test_actor_refuses_answers_the_client_would_not_send(
    fd: FakeDiscord, setup: Setup, api: Api, values: dict, complaint: str
):
    assert (await _shown(fd, setup, api, label_modal()))[0] == 204
    actor = fd.actor(setup.app.id, setup.guild.id, setup.alice.id)
    values = {k: ([setup.staff.id] if k == "team" and v == [1] else v) for k, v in values.items()}
    with pytest.raises(ActorError, match=complaint):
        await actor.submit_modal("new", values)


def _text(custom_id: str, **extra: object) -> dict:
    return {"type": 4, "custom_id": custom_id, "style": 1} | extra


@pytest.mark.parametrize(
    ("components", "field"),
    [
        ([{"type": 1, "components": [{"type": 3, "custom_id": "s", "options": []}]}], "type"),
        ([{"type": 1, "components": [_text("a")]}], "label"),
        ([{"type": 18, "component": _text("a")}], "label"),
        ([{"type": 18, "label": "A", "component": _text("a", label="A")}], "label"),
        ([{"type": 18, "label": "A", "component": {"type": 2, "style": 1}}], "type"),
        ([{"type": 18, "label": "A", "component": {"type": 3, "custom_id": "s"}}], "options"),
        (
            [
                {"type": 18, "label": "A", "component": _text("a")},
                {"type": 18, "label": "B", "component": _text("a")},
            ],
            "custom_id",
        ),
        ([{"type": 18, "label": "A", "component": _text("a", max_length=5000)}], "max_length"),
        ([{"type": 10}], "content"),
        ([{"type": 10, "content": "x"}] * 6, "components"),
    ],
)
async def test_modal_discord_would_refuse_is_refused(
    fd: FakeDiscord, setup: Setup, api: Api, components: list, field: str
):
    status, body = await _shown(
        fd, setup, api, {"title": "T", "custom_id": "m", "components": components}
    )
    assert (status, body["code"]) == (400, 50035)
    assert field in str(body["errors"])


async def test_old_action_row_modals_still_work(fd: FakeDiscord, setup: Setup, api: Api):
    row = {"type": 1, "components": [_text("topic", label="Topic", required=False)]}
    assert (await _shown(fd, setup, api, {"title": "T", "custom_id": "m", "components": [row]}))[
        0
    ] == 204
    submit = await fd.actor(setup.app.id, setup.guild.id, setup.alice.id).submit_modal("m", {})
    (answered,) = submit.payload["data"]["components"]
    assert answered["type"] == 1
    assert answered["components"][0] | {"id": 0} == {
        "type": 4,
        "id": 0,
        "custom_id": "topic",
        "value": "",
    }
