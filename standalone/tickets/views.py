"""What the bot posts when tickets open: panels, forms and opening messages (disnake builders)."""

from __future__ import annotations

from typing import Any

import disnake
from disnake.ui.select.string import StringSelect

from standalone.db.records import Answer, Category, GuildSettings, Question
from standalone.db.tickets import CategoryStats
from standalone.i18n import DEFAULT, t
from standalone.tickets import custom_ids, figures

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
# Discord's most for a text input; displays clip what does not fit, the record keeps all.
TOPIC_MIN, TOPIC_MAX = 5, 4000
# A form context: none, a referenced ticket number, a referenced message, a DM.
NO_CONTEXT = "n"

Button = disnake.ui.Button[None]


def panel_buttons(categories: list[Category], marker: str, locale: str = DEFAULT) -> list[Any]:
    """One button per category, five to a row; ``marker`` tells this panel from others."""
    buttons: list[Button] = [
        disnake.ui.Button(
            label=(category.name if len(categories) > 1 else t(locale, "views.open_button"))[:80],
            emoji=category.emoji or "🎫",
            style=disnake.ButtonStyle.primary,
            custom_id=custom_ids.make(custom_ids.OPEN, category.key, marker),
        )
        for category in categories[:25]
    ]
    return [disnake.ui.ActionRow(*buttons[i : i + 5]) for i in range(0, len(buttons), 5)]


def category_menu(
    categories: list[Category],
    context: str = NO_CONTEXT,
    placeholder: str | None = None,
    servers: dict[str, str] | None = None,
    locale: str = DEFAULT,
) -> StringSelect[None]:
    """A menu of categories; the choice carries on with ``context``.

    With ``servers`` (guild id to name) each label names its server too, for a DM
    menu that offers the categories of several servers, whose names may repeat.
    """
    return StringSelect(
        custom_id=custom_ids.make(custom_ids.PICK, context),
        placeholder=placeholder or t(locale, "views.pick_category"),
        options=[
            disnake.SelectOption(
                label=(
                    f"{category.name} · {servers.get(category.guild_id, category.guild_id)}"
                    if servers
                    else category.name
                )[:100],
                value=category.key,
                description=(category.description or None) and category.description[:100],
                emoji=category.emoji or None,
            )
            for category in categories[:25]
        ],
    )


def panel_embed(title: str, description: str, settings: GuildSettings) -> disnake.Embed:
    """The embed above a panel's buttons or menu."""
    embed = disnake.Embed(title=title[:256], description=description[:4096], colour=settings.colour)
    if settings.footer:
        embed.set_footer(text=settings.footer[:2048])
    return embed


def form(
    category: Category, questions: list[Question], context: str, locale: str = DEFAULT
) -> disnake.ui.Modal | None:
    """The modal a member fills in to open a ticket; None when nothing needs asking."""
    if questions:
        return disnake.ui.Modal(
            title=t(locale, "views.new_ticket", category=category.name)[:45],
            custom_id=custom_ids.make(custom_ids.QUESTIONS, category.key, context),
            components=[question_field(q) for q in questions[:5]],
        )
    if category.require_topic:
        return topic_modal(category, context, locale=locale)
    return None


def question_field(question: Question, answer: str | None = None) -> disnake.ui.Label:
    """One question as a labelled text input or menu, prefilled with an earlier answer."""
    component: disnake.ui.TextInput | StringSelect[None]
    if question.kind == "select":
        component = StringSelect(
            custom_id=question.key,
            placeholder=question.placeholder[:150] if question.placeholder else None,
            min_values=1 if question.required else 0,
            max_values=1,
            required=question.required,
            options=[
                disnake.SelectOption(label=o[:100], value=o[:100], default=o == answer)
                for o in question.options[:25]
            ],
        )
    else:
        component = disnake.ui.TextInput(
            custom_id=question.key,
            style=disnake.TextInputStyle(question.style),
            placeholder=question.placeholder[:100] if question.placeholder else None,
            value=(answer if answer is not None else question.value or None),
            required=question.required,
            min_length=question.min_length or None,
            max_length=min(question.max_length, 4000),
        )
    return disnake.ui.Label(text=question.label[:45], component=component)


def topic_modal(
    category: Category, context: str, current: str | None = None, locale: str = DEFAULT
) -> disnake.ui.Modal:
    """Asks the member what the ticket is about."""
    return disnake.ui.Modal(
        title=t(locale, "views.new_ticket", category=category.name)[:45],
        custom_id=custom_ids.make(custom_ids.TOPIC, category.key, context),
        components=[topic_field(t(locale, "views.topic_question"), current)],
    )


def topic_field(label: str, current: str | None) -> disnake.ui.Label:
    """The topic as one labelled paragraph input, for opening and for editing."""
    return disnake.ui.Label(
        text=label,
        component=disnake.ui.TextInput(
            custom_id=custom_ids.TOPIC_FIELD,
            style=disnake.TextInputStyle.paragraph,
            min_length=TOPIC_MIN,
            max_length=TOPIC_MAX,
            value=current,
            required=True,
        ),
    )


def render_number(number: int) -> str:
    """Discord refuses "1488" in channel names of discoverable servers; v4 writes 1487b."""
    return "1487b" if number == 1488 else str(number)


def fill(template: str, *, number: int, username: str, display_name: str, category: str) -> str:
    """Replace the placeholders Discord Tickets v4 knows in names and messages."""
    values = {
        "{num}": render_number(number),
        "{number}": render_number(number),
        "{username}": username,
        "{name}": username,
        "{nickname}": display_name,
        "{displayName}": display_name,
        "{category}": category,
    }
    for placeholder, value in values.items():
        template = template.replace(placeholder, value)
    return template


def channel_name(category: Category, number: int, username: str, display_name: str) -> str:
    """The ticket channel's name from the category's template."""
    name = fill(
        category.channel_name,
        number=number,
        username=username,
        display_name=display_name,
        category=category.name,
    )
    return name[:100] or f"ticket-{render_number(number)}"


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


def answers_embed(
    answers: list[Answer], topic: str | None, settings: GuildSettings, locale: str = DEFAULT
) -> disnake.Embed | None:
    """The answers (decrypted) as fields, or the topic; None when there is neither."""
    if answers:
        embed = disnake.Embed(colour=settings.colour)
        for answer in answers[:25]:
            value = answer.value or t(locale, "views.no_answer")
            embed.add_field(
                name=answer.label[:256], value=value if len(value) <= 1024 else value[:1023] + "…"
            )
        return embed
    if topic:
        return disnake.Embed(
            title=t(locale, "views.topic"), description=topic[:4096], colour=settings.colour
        )
    return None


def opening_components(
    number: int, *, editable: bool, claimable: bool, closable: bool, locale: str = DEFAULT
) -> list[Button]:
    """Edit, Claim and Close under the opening message, as the settings allow."""
    buttons: list[Button] = []
    if editable:
        buttons.append(
            disnake.ui.Button(
                label=t(locale, "views.edit"),
                emoji="✏️",
                style=disnake.ButtonStyle.secondary,
                custom_id=custom_ids.make(custom_ids.EDIT, number),
            )
        )
    if claimable:
        buttons.append(claim_button(number, locale))
    if closable:
        buttons.append(
            disnake.ui.Button(
                label=t(locale, "views.close"),
                emoji="🔒",
                style=disnake.ButtonStyle.danger,
                custom_id=custom_ids.make(custom_ids.CLOSE, number),
            )
        )
    return buttons


STAT_PLACEHOLDERS = ("{avgResponseTime}", "{avgResolutionTime}", "{avgRating}")


def wants_stats(template: str) -> bool:
    """Whether an opening message shows v4's live figures (worth a query only then)."""
    return any(placeholder in template for placeholder in STAT_PLACEHOLDERS)


def fill_stats(template: str, stats: CategoryStats, locale: str = DEFAULT) -> str:
    """v4's ``{avgResponseTime}``, ``{avgResolutionTime}`` and ``{avgRating}``, localised.

    Plain replacement, never ``str.format``: the template is an admin's text, and
    anything else in braces stays as typed.
    """
    for placeholder, value in figures.stat_values(stats, locale).items():
        template = template.replace(placeholder, value)
    return template


def opening_embed(
    category: Category,
    settings: GuildSettings,
    number: int,
    creator: disnake.abc.User,
    stats: CategoryStats | None = None,
    locale: str = DEFAULT,
) -> disnake.Embed:
    """Who opened the ticket, with the category's opening message."""
    text = fill(
        category.opening_message,
        number=number,
        username=creator.name,
        display_name=creator.display_name,
        category=category.name,
    )
    if stats is not None:
        text = fill_stats(text, stats, locale)
    embed = disnake.Embed(
        title=t(locale, "views.opening_title", number=number, category=category.name)[:256],
        description=text,
        colour=settings.colour,
    )
    avatar = getattr(creator, "display_avatar", None)
    embed.set_author(name=creator.display_name[:256], icon_url=avatar.url if avatar else None)
    if category.image:
        embed.set_image(url=category.image)
    if settings.footer:
        embed.set_footer(text=settings.footer[:2048])
    return embed


def claim_button(ticket_number: int, locale: str = DEFAULT) -> disnake.ui.Button[None]:
    """The Claim button of an opening message (when the guild and the category allow it)."""
    return disnake.ui.Button(
        label=t(locale, "views.claim"),
        emoji="🙋",
        style=disnake.ButtonStyle.secondary,
        custom_id=custom_ids.make(custom_ids.CLAIM, ticket_number),
    )


def release_button(ticket_number: int, locale: str = DEFAULT) -> disnake.ui.Button[None]:
    """What the Claim button becomes while the ticket is claimed."""
    return disnake.ui.Button(
        label=t(locale, "views.release"),
        emoji="♻️",
        style=disnake.ButtonStyle.secondary,
        custom_id=custom_ids.make(custom_ids.RELEASE, ticket_number),
    )
