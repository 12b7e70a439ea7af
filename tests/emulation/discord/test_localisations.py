"""Command localisations as Discord checks them, and each user's client language."""

from __future__ import annotations

from typing import Any

import pytest

from emulation.discord import FakeDiscord

from .conftest import Api, Setup
from .test_openapi import CheckedApi

GOOD: dict[str, Any] = {
    "name": "close",
    "description": "Ask to close this ticket.",
    "name_localizations": {"de": "schließen", "fr": "fermer", "es-ES": "cerrar"},
    "description_localizations": {"de": "Das Schließen dieses Tickets anfragen."},
    "options": [
        {
            "name": "style",
            "description": "Buttons or a menu",
            "type": 3,
            "name_localizations": {"de": "stil"},
            "choices": [{"name": "menu", "value": "menu", "name_localizations": {"de": "Menü"}}],
        }
    ],
}
EMPTY_CHOICE = {"name": "m", "value": "m", "name_localizations": {"de": ""}}


async def test_localised_commands_are_stored_as_sent(fd: FakeDiscord, setup: Setup, api: Api):
    call = CheckedApi(api)
    menu = {"name": "Create ticket from message", "type": 3}
    menu |= {"name_localizations": {"de": "Ticket aus Nachricht erstellen"}}
    put = await call(
        "PUT", "/applications/{application_id}/commands", [GOOD, menu], application_id=setup.app.id
    )
    assert call.problems == []
    assert put[0]["name_localizations"] == GOOD["name_localizations"]
    stored = {c["name"]: c for c in fd.commands(setup.app.id)}
    assert stored["close"]["options"][0]["choices"][0]["name_localizations"]["de"] == "Menü"
    assert stored["Create ticket from message"]["name_localizations"]["de"].startswith("Ticket")


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"name_localizations": {"de": "Schließen"}}, ["0", "name_localizations", "de"]),
        ({"name_localizations": {"de": "zu schließen"}}, ["0", "name_localizations", "de"]),
        ({"name_localizations": {"klingon": "close"}}, ["0", "name_localizations", "klingon"]),
        ({"description_localizations": {"fr": "x" * 101}}, ["0", "description_localizations"]),
        (
            {"options": [{**GOOD["options"][0], "name_localizations": {"de": "S"}}]},
            ["0", "options", "0", "name_localizations", "de"],
        ),
        (
            {"options": [{**GOOD["options"][0], "choices": [EMPTY_CHOICE]}]},
            ["0", "options", "0", "choices", "0", "name_localizations", "de"],
        ),
    ],
)
async def test_bad_localisations_are_refused_like_discord(
    setup: Setup, api: Api, change: dict[str, Any], where: list[str]
):
    status, body, _ = await api.call(
        "PUT", f"/applications/{setup.app.id}/commands", [GOOD | change]
    )
    assert (status, body["code"]) == (400, 50035), body
    errors = body["errors"]
    for part in where:
        errors = errors[part]


async def test_a_context_menu_name_in_another_language_is_at_most_32_characters(
    setup: Setup, api: Api
):
    menu = {"name": "Report", "type": 3, "name_localizations": {"fr": "x" * 33}}
    status, body, _ = await api.call("PUT", f"/applications/{setup.app.id}/commands", [menu])
    assert (status, body["code"]) == (400, 50035), body


async def test_each_interaction_carries_its_users_client_language(
    fd: FakeDiscord, setup: Setup, api: Api
):
    await api.call("PUT", f"/applications/{setup.app.id}/commands", [GOOD])
    actor = fd.actor(setup.app.id, setup.guild.id, setup.alice.id)
    first = await actor.slash("close", channel_id=setup.general.id)
    assert first.payload["locale"] == "en-US"
    fd.set_user_locale(setup.alice.id, "fr")
    second = await actor.slash("close", channel_id=setup.general.id)
    assert second.payload["locale"] == "fr"
    assert second.payload["guild_locale"] == "en-US"  # the server's, not the member's
