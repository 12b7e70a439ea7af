"""Languages through the stand-in: localised commands, the guild's locale, the reader's, /help."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from standalone.db.settings import SettingsRepository
from standalone.i18n import SUPPORTED
from tests.e2e.conftest import TIMEOUT, World, eventually, make_world
from tests.e2e.flow import bot_messages, button, components, open_ticket, post_panel

# Every locale Discord gets besides the default name and description.
LOCALISED = {"en-US", "de", "fr", "es-ES"}
CHAT_INPUT = 1
FRENCH_NOT_A_TICKET = "Ce salon n\u2019est pas un ticket."  # typographic apostrophe


@dataclass
class Scene:
    world: World
    panel: Any
    settings: SettingsRepository
    helper: Any  # staff of the Support category, no server permissions


@pytest.fixture
async def scene(discord, stack) -> Scene:
    world = make_world(discord, "i18n")
    helpers = discord.add_role(world.guild.id, name="Helpers")
    helper = discord.add_member(world.guild.id, username="hedda", roles=[helpers.id])
    await stack.add(world)
    await stack.start()
    panel = await post_panel(discord, world)
    settings = SettingsRepository(stack.backends.db, world.tenant)
    (support,) = await settings.categories(str(world.guild.id))
    await settings.update_category(
        str(world.guild.id), support.key, staff_roles=[*support.staff_roles, str(helpers.id)]
    )
    return Scene(world, panel, settings, helper)


async def answer(inter) -> dict[str, Any]:
    """The bot's ephemeral answer, as the response or as the first followup."""
    response = await inter.response(timeout=TIMEOUT)
    if response["type"] == 4:
        assert response["data"]["flags"] & 64, response
        return dict(response["data"])
    (followup,) = await inter.followups(count=1, timeout=TIMEOUT)
    return dict(followup)


async def says(discord, world: World, user, command: str, options=None) -> str:
    actor = world.actor(discord, user)
    inter = await actor.slash(command, options or {}, channel_id=world.support.id)
    return str((await answer(inter))["content"])


def _localised_everywhere(node: dict[str, Any], where: str) -> list[str]:
    """What in a command body lacks a name or description in one of the locales."""
    missing = [
        f"{where} {field} {sorted(LOCALISED - set(node.get(field) or {}))}"
        for field in ("name_localizations", "description_localizations")
        if not set(node.get(field) or {}) >= LOCALISED
    ]
    for option in node.get("options") or []:
        missing += _localised_everywhere(option, f"{where} {option['name']}")
    for choice in node.get("choices") or []:
        if not set(choice.get("name_localizations") or {}) >= LOCALISED:
            missing.append(f"{where} choice {choice['value']}")
    return missing


async def test_every_command_is_registered_with_its_localisations(discord, scene: Scene):
    app = scene.world.app.id
    bodies = await eventually(lambda: _async(discord.commands(app)))
    by_name = {(b["type"], b["name"]): b for b in bodies}
    missing: list[str] = []
    for body in bodies:
        if body["type"] == CHAT_INPUT:
            missing += _localised_everywhere(body, f"/{body['name']}")
        elif not set(body.get("name_localizations") or {}) >= LOCALISED:
            missing.append(f"menu {body['name']!r}")
    assert not missing, missing

    close = by_name[(CHAT_INPUT, "close")]
    assert close["name_localizations"]["de"] == "schließen"
    assert close["name_localizations"]["fr"] == "fermer"
    assert close["name_localizations"]["es-ES"] == "cerrar"
    assert close["description_localizations"]["de"] == "Das Schließen dieses Tickets anfragen."
    (reason,) = close["options"]
    assert reason["name_localizations"]["fr"] == "raison"
    menu = by_name[(3, "Create ticket from message")]
    assert menu["name_localizations"]["de"] == "Ticket aus Nachricht erstellen"
    (locale,) = [o for o in by_name[(CHAT_INPUT, "settings")]["options"] if o["name"] == "locale"]
    assert tuple(c["value"] for c in locale["choices"]) == SUPPORTED
    german = {c["value"]: c["name_localizations"]["fr"] for c in locale["choices"]}["de"]
    assert german == "Deutsch"


async def _async(value: Any) -> Any:
    return value


async def test_a_german_guild_reads_german_in_its_ticket_channel_and_close_messages(
    discord, scene: Scene
):
    world = scene.world
    saved = await says(discord, world, world.staff, "settings", {"locale": "de"})
    # The admin's own Discord speaks en-US: the answer is theirs, the setting the guild's.
    assert saved.startswith("Saved.") and "language Deutsch" in saved, saved
    assert (await scene.settings.guild(str(world.guild.id))).locale == "de"

    channel_id = await open_ticket(discord, world, scene.panel, "Mein Drucker brennt")
    opening = bot_messages(discord, world, channel_id)[0]
    assert opening.content == f"<@{world.member.id}> hat ein Ticket in Support eröffnet."
    labels = {c.get("label") for c in components(opening)}
    assert {"Bearbeiten", "Schließen"} <= labels, labels
    assert opening.embeds[0]["title"] == "Ticket #1 · Support"
    assert opening.embeds[1]["title"] == "Thema"

    ask = await world.actor(discord, world.member).click(opening.id, button(opening, "close:"))
    await ask.followups(count=1, timeout=TIMEOUT)

    def close_request() -> Any:
        for message in bot_messages(discord, world, channel_id):
            if any(c.get("custom_id", "").startswith("closeyes:") for c in components(message)):
                return message
        return None

    request = await eventually(lambda: _async(close_request()))
    assert request.embeds[0]["title"] == "Schließungsanfrage"
    assert "möchte dieses Ticket schließen" in request.embeds[0]["description"]
    assert {c.get("label") for c in components(request)} == {"Annehmen", "Ablehnen"}
    accept = await world.actor(discord, world.staff).click(request.id, button(request, "closeyes:"))
    await accept.followups(count=1, timeout=TIMEOUT)

    def summary() -> Any:
        return next((m for m in discord.dms(world.member.id, world.app.id) if m.embeds), None)

    dm = await eventually(lambda: _async(summary()))
    embed = dm.embeds[0]
    assert embed["title"] == "Dein Ticket wurde geschlossen"
    assert [f["name"] for f in embed["fields"]][:3] == ["Ticket", "Thema", "Eröffnet"]
    assert {c.get("label") for c in components(dm)} == {"Protokoll"}


async def test_refusals_come_in_the_readers_language_or_else_the_guilds(discord, scene: Scene):
    world = scene.world
    discord.set_user_locale(world.member.id, "fr")
    assert await says(discord, world, world.member, "close") == FRENCH_NOT_A_TICKET
    # Japanese is not spoken by the bot: the guild's language (en-GB by default) instead.
    discord.set_user_locale(world.other.id, "ja")
    assert await says(discord, world, world.other, "close") == "This channel is not a ticket."
    await says(discord, world, world.staff, "settings", {"locale": "de"})
    assert await says(discord, world, world.other, "close") == "Dieser Kanal ist kein Ticket."
    # A member whose language the bot speaks keeps it, whatever the guild chose.
    assert await says(discord, world, world.member, "close") == FRENCH_NOT_A_TICKET

    # The form a French member fills in is French too.
    click = await world.actor(discord, world.member).click(
        scene.panel.id, button(scene.panel, "open:")
    )
    form = await click.response(timeout=TIMEOUT)
    assert form["type"] == 9 and form["data"]["title"] == "Nouveau ticket : Support", form


async def help_text(discord, world: World, user) -> tuple[str, str]:
    inter = await world.actor(discord, user).slash("help", channel_id=world.support.id)
    (embed,) = (await answer(inter))["embeds"]
    return str(embed["title"]), str(embed["description"])


async def test_help_lists_what_each_person_may_use_in_their_language(discord, scene: Scene):
    world = scene.world
    title, member = await help_text(discord, world, world.member)
    assert title == "Ticket commands"
    assert "`/new` · Open a new ticket." in member and "`/close`" in member, member
    assert "Create ticket from message" in member
    hidden_from_members = ("/claim", "/force-close", "/settings", "/category", "/panel", "/hours")
    for hidden in (*hidden_from_members, "for user"):
        assert hidden not in member, (hidden, member)

    _, helper = await help_text(discord, world, scene.helper)
    assert "`/claim`" in helper and "`/force-close`" in helper and "`/new`" in helper
    assert "Create ticket for user" in helper
    assert "/settings" not in helper and "/category" not in helper, helper
    assert "/hours" not in helper, helper  # working hours are the admins'

    _, admin = await help_text(discord, world, world.staff)
    shown_to_admins = (
        "`/settings`",
        "`/category create`",
        "`/question add`",
        "`/panel`",
        "`/claim`",
        "`/hours set`",
        "`/hours show`",
        "`/hours clear`",
    )
    for shown in shown_to_admins:
        assert shown in admin, (shown, admin)

    discord.set_user_locale(world.member.id, "de")
    title, german = await help_text(discord, world, world.member)
    assert title == "Ticket-Befehle"
    assert "`/neu` · Ein neues Ticket eröffnen." in german and "`/schließen`" in german, german
    assert "/einstellungen" not in german
