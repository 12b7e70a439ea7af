"""The dashboard in a real browser, from log-in to a ticket's transcript.

An admin logs in through the stand-in's OAuth consent page, changes a setting,
adds a category with a question and posts a panel; a member then opens a ticket
from that panel through the stand-in, answering the question; after it closes
the admin reads its transcript in the browser. A screenshot is taken of every step.
"""

from __future__ import annotations

import re

import pytest

from standalone.db.settings import SettingsRepository
from standalone.db.tickets import TicketRepository
from tests.browser.dashboard import Dashboard
from tests.e2e.conftest import TIMEOUT, eventually
from tests.e2e.flow import bot_messages, button, close_with_approval

pytestmark = pytest.mark.browser


async def open_from_panel(dashboard: Dashboard, panel, answer: str) -> int:
    """The member clicks the panel's button and answers the category's one question."""
    discord, world = dashboard.discord, dashboard.world
    member = world.actor(discord, world.member)
    click = await member.click(panel.id, button(panel, "open:"))
    form = await click.response(timeout=TIMEOUT)
    assert form["type"] == 9, form
    # Each question is a label (type 18) around its input.
    labels = form["data"]["components"]
    assert [label["label"] for label in labels] == ["Order number"]
    question = labels[0]["component"]["custom_id"]
    submit = await member.submit_modal(
        form["data"]["custom_id"], {question: answer}, channel_id=world.support.id
    )
    reply = (await submit.followups(count=1, timeout=TIMEOUT))[-1]["content"]
    assert reply.startswith("Your ticket is open: <#"), reply
    return int(reply.split("<#")[1].rstrip(">"))


async def test_admin_sets_up_a_category_and_reads_the_transcript_of_its_ticket(
    page, shots, dashboard: Dashboard
):
    discord, world = dashboard.discord, dashboard.world
    tenant, guild = world.tenant, str(world.guild.id)
    db = dashboard.backends.db

    # Log in: the dashboard sends the browser to the stand-in's consent page.
    await page.goto(dashboard.url + "/")
    await shots.take(page, "login page")
    await page.click("#login")
    await page.wait_for_selector(f'button[data-user="{world.staff.username}"]')
    await shots.take(page, "discord consent")
    await page.click(f'button[data-user="{world.staff.username}"]')
    await page.wait_for_url(dashboard.url + "/")
    server = page.locator(f'a[data-guild="{guild}"]')
    assert world.guild.name in await server.inner_text()
    await shots.take(page, "server list")

    # Change a setting.
    await server.click()
    await page.wait_for_url(dashboard.guild_url("settings"))
    await page.fill("#settings-footer", "Answered within a day")
    await page.uncheck("#settings-claim_button")
    await page.click("#settings-form button[type=submit]")
    await page.wait_for_selector("text=Settings saved.")
    assert await page.input_value("#settings-footer") == "Answered within a day"
    await shots.take(page, "settings saved")
    stored = await SettingsRepository(db, tenant).guild(guild)
    assert stored.footer == "Answered within a day" and stored.claim_button is False

    # Add a category with a question.
    await page.click("nav.guild >> text=Categories")
    await page.fill("#category-name", "Billing")
    await page.check(f'input[name=staff_roles][value="{world.staff_role.id}"]')
    await page.click("#category-form button[type=submit]")
    await page.wait_for_selector("text=Category added.")
    await shots.take(page, "category added")
    await page.click("#categories >> text=Billing")
    await page.fill("#question-label", "Order number")
    await page.click("#question-form button[type=submit]")
    await page.wait_for_selector("text=Question added.")
    assert "Order number" in await page.inner_text("#questions")
    await shots.take(page, "question added")
    (category,) = await SettingsRepository(db, tenant).categories(guild)
    assert category.name == "Billing" and category.staff_roles == [str(world.staff_role.id)]
    assert category.discord_category is not None  # made by the bot for the new category

    # Post a panel for it in #support.
    await page.click("nav.guild >> text=Panels")
    await page.select_option("#panel-channel", str(world.support.id))
    await page.check(f'input[name=categories][value="{category.key}"]')
    await page.fill("#panel-title", "Billing questions")
    await page.click("#panel-form button[type=submit]")
    await page.wait_for_selector("text=Panel posted.")
    await shots.take(page, "panel posted")
    panel = bot_messages(discord, world, world.support.id)[-1]
    assert panel.embeds[0]["title"] == "Billing questions"
    assert panel.embeds[0]["footer"]["text"] == "Answered within a day"

    # A member opens a ticket from it, answering the question; then it is closed.
    channel_id = await open_from_panel(dashboard, panel, "A-1234")
    assert discord.channel(channel_id).parent_id == int(category.discord_category)
    await world.actor(discord, world.member).send_message(channel_id, "Charged twice")
    await page.click("nav.guild >> text=Tickets")
    opened = page.locator("#tickets tr[data-ticket]")
    assert await opened.count() == 1
    assert "open" in await opened.locator(".state").inner_text()
    await shots.take(page, "ticket open")
    await close_with_approval(discord, world, channel_id, world.staff, world.member)
    repo = TicketRepository(db, tenant)

    async def closed():
        ticket = await repo.by_channel(str(channel_id))
        return ticket if ticket and ticket.transcript_key else None

    ticket = await eventually(closed)
    assert ticket.category == category.key

    # Find it in the tickets list and read its transcript.
    await page.click("nav.guild >> text=Tickets")
    await page.fill("#q", str(ticket.number))
    await page.click("#ticket-search button[type=submit]")
    row = page.locator(f'tr[data-ticket="{ticket.number}"]')
    assert "Billing" in await row.inner_text()
    await shots.take(page, "tickets list")
    await row.locator("text=Transcript").click()
    await page.wait_for_url(re.compile(rf".*/tickets/{ticket.number}/transcript$"))
    text = await page.inner_text("body")
    assert f"Ticket #{ticket.number} · Billing" in text
    assert "A-1234" in text and "Charged twice" in text
    await shots.take(page, "transcript")
    assert len(shots.taken) == 10
