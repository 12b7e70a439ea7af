"""What the bot posts: panels, the topic form and opening messages (disnake builders)."""

from __future__ import annotations

import disnake

from standalone.db.records import Category
from standalone.tickets import custom_ids

TICKET_MEMBER_PERMISSIONS = disnake.Permissions(
    view_channel=True,
    send_messages=True,
    read_message_history=True,
    attach_files=True,
    embed_links=True,
)
BOT_PERMISSIONS = TICKET_MEMBER_PERMISSIONS | disnake.Permissions(
    manage_channels=True, manage_messages=True
)
PRIMARY = disnake.Colour(0x5865F2)
TOPIC_MIN, TOPIC_MAX = 5, 1000


def panel(
    category: Category, title: str, description: str
) -> tuple[disnake.Embed, list[disnake.ui.Button[None]]]:
    """The message members click to open a ticket."""
    embed = disnake.Embed(title=title, description=description, colour=PRIMARY)
    button: disnake.ui.Button[None] = disnake.ui.Button(
        label="Open ticket",
        emoji="🎫",
        style=disnake.ButtonStyle.primary,
        custom_id=custom_ids.make(custom_ids.OPEN, category.key),
    )
    return embed, [button]


def topic_modal(category: Category) -> disnake.ui.Modal:
    """Asks the member what the ticket is about."""
    return disnake.ui.Modal(
        title=f"New ticket: {category.name}"[:45],
        custom_id=custom_ids.make(custom_ids.TOPIC, category.key),
        components=[
            disnake.ui.TextInput(
                label="What do you need help with?",
                custom_id=custom_ids.TOPIC_FIELD,
                style=disnake.TextInputStyle.paragraph,
                min_length=TOPIC_MIN,
                max_length=TOPIC_MAX,
                required=True,
            )
        ],
    )


def channel_name(category: Category, number: int, username: str) -> str:
    """The ticket channel's name from the category's template."""
    name = category.channel_name.replace("{num}", str(number)).replace("{number}", str(number))
    name = name.replace("{username}", username).replace("{name}", username)
    return name[:100] or f"ticket-{number}"


def channel_topic(number: int, creator_id: int) -> str:
    """Also the marker that finds the channel again after a crash mid-open."""
    return f"Ticket #{number} · opened by <@{creator_id}>"


def overwrites(
    guild_id: int, creator_id: int, staff_roles: list[str], bot_id: int
) -> list[dict[str, int | str]]:
    """Hide the channel from everyone but the creator, the staff roles and the bot."""
    allow = str(TICKET_MEMBER_PERMISSIONS.value)
    result: list[dict[str, int | str]] = [
        {
            "id": str(guild_id),
            "type": 0,
            "allow": "0",
            "deny": str(disnake.Permissions(view_channel=True).value),
        },
        {"id": str(creator_id), "type": 1, "allow": allow, "deny": "0"},
        {"id": str(bot_id), "type": 1, "allow": str(BOT_PERMISSIONS.value), "deny": "0"},
    ]
    result += [{"id": role, "type": 0, "allow": allow, "deny": "0"} for role in staff_roles]
    return result


def opening(
    category: Category, number: int, creator: disnake.abc.User, topic: str
) -> tuple[str, disnake.Embed, list[disnake.ui.Button[None]]]:
    """The first message in a ticket: who opened it, about what, and a Close button."""
    text = category.opening_message.replace("{username}", creator.display_name)
    text = text.replace("{num}", str(number)).replace("{number}", str(number))
    embed = disnake.Embed(
        title=f"Ticket #{number} · {category.name}", description=text, colour=PRIMARY
    )
    embed.add_field(name="Topic", value=topic[:1024], inline=False)
    button: disnake.ui.Button[None] = disnake.ui.Button(
        label="Close",
        emoji="🔒",
        style=disnake.ButtonStyle.danger,
        custom_id=custom_ids.make(custom_ids.CLOSE, number),
    )
    return f"<@{creator.id}>", embed, [button]
