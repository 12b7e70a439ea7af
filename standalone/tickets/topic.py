"""``/topic`` and the opening message's Edit button: change the topic or the form's answers.

The creator, staff of the ticket's category or an admin may. A category with
questions shows its form again, prefilled; one without shows the topic alone, up
to Discord's 4000 characters for a text input. The full text is kept encrypted
at rest; where Discord caps what it shows (1024 characters in an embed field,
6000 in an embed) the display is clipped with an ellipsis, never the record.
Discord Tickets v4 put the topic in an embed field and broke past 1024 characters.

Discord first, the record last: a delivery that dies before the save is run again
with the same changes and finds its diff posted; saving first would leave a retry
with "nothing changed" and no diff at all.
"""

from __future__ import annotations

from typing import Any, cast

import disnake
from disnake.interactions.base import Interaction

from standalone.db.records import Answer, Category, GuildSettings, Question, Ticket
from standalone.i18n import Text, t
from standalone.tickets import custom_ids, views
from standalone.tickets.audit import ticket_updated
from standalone.tickets.context import TicketContext
from standalone.tickets.errors import TicketError
from standalone.tickets.opening import read_answer
from standalone.tickets.replies import NO_PINGS, answer_locale, defer, reader_locale, reply
from standalone.tickets.router import ComponentRouter
from standalone.tickets.ticket_edits import open_ticket_here, require_creator_or_staff

FIELD_MAX = 1024  # Discord's limit on an embed field's value
DIFF_MAX = 1000  # each changed answer's diff, so five of them fit in one embed


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, with an ellipsis when anything was cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def diff_block(before: str, after: str) -> str:
    """A change as a ``diff`` code block that fits one embed field."""
    body = "\n".join(
        [
            *(f"- {line}" for line in before.splitlines() or [""]),
            *(f"+ {line}" for line in after.splitlines() or [""]),
        ]
    )
    return f"```diff\n{clip(body, DIFF_MAX)}\n```"


class Topics:
    """Shows the edit form and stores what comes back."""

    def __init__(self, ctx: TicketContext) -> None:
        self.ctx = ctx

    def register(self, components: ComponentRouter) -> None:
        """Take the Edit button and the edit form."""
        components.button(custom_ids.EDIT, self._edit_button)
        components.modal(custom_ids.EDITED, self._edited)

    async def _edit_button(self, inter: Interaction[Any], arguments: list[str]) -> None:
        await self.show_form(inter, custom_ids.number(arguments))

    async def _edited(self, inter: Interaction[Any], arguments: list[str]) -> None:
        await self.edited(inter, custom_ids.number(arguments))

    async def _ticket(self, inter: Interaction[Any], number: int | None) -> Ticket:
        ticket = await open_ticket_here(self.ctx, inter)
        if number is not None and number != ticket.number:
            raise TicketError(Text("staff.wrong_ticket"))
        return ticket

    async def show_form(self, inter: Interaction[Any], number: int | None = None) -> None:
        """The form again, prefilled (``/topic`` or the Edit button)."""
        ticket = await self._ticket(inter, number)
        category = await require_creator_or_staff(self.ctx, inter, ticket)
        questions = await self._questions(category)
        answers = {
            a.question: self.ctx.cipher.decrypt(a.value)
            for a in await self.ctx.tickets.answers(ticket)
        }
        topic = self.ctx.cipher.decrypt(ticket.topic) if ticket.topic else None
        locale = await answer_locale(inter, await self.ctx.guild_locale(ticket.guild_id))
        modal = edit_modal(ticket.number, questions, answers, topic, locale)
        await inter.response.send_modal(modal)

    async def _questions(self, category: Category | None) -> list[Question]:
        return await self.ctx.settings.questions(category.key) if category else []

    async def edited(self, inter: Interaction[Any], number: int) -> None:
        """Store changed answers or topic, show the difference in the ticket, update its embed."""
        ticket = await self._ticket(inter, number)
        category = await require_creator_or_staff(self.ctx, inter, ticket)
        values: dict[str, Any] = getattr(inter, "values", {})
        cipher = self.ctx.cipher
        questions = await self._questions(category)
        old = {a.question: a for a in await self.ctx.tickets.answers(ticket)}
        changes: list[tuple[str, str, str]] = []
        new_answers: list[Answer] = []
        for n, question in enumerate(questions):
            value = read_answer(question, values)
            earlier = cipher.decrypt(old[question.key].value) if question.key in old else ""
            if earlier != value:
                changes.append((question.label, earlier, value))
            new_answers.append(
                Answer(
                    question=question.key,
                    label=question.label,
                    value=cipher.encrypt(value),
                    position=n,
                )
            )
        topic = cipher.decrypt(ticket.topic) if ticket.topic else None
        new_topic = topic
        if not questions:
            new_topic = str(values.get(custom_ids.TOPIC_FIELD, "")).strip()
            if not views.TOPIC_MIN <= len(new_topic) <= views.TOPIC_MAX:
                raise TicketError(
                    Text("staff.topic_length", min=views.TOPIC_MIN, max=views.TOPIC_MAX)
                )
            if new_topic != (topic or ""):
                changes.append(
                    (Text("staff.topic_label").render(reader_locale(inter)), topic or "", new_topic)
                )
        elif category and category.custom_topic:
            chosen = next(
                (
                    v
                    for q, v in ((a.question, cipher.decrypt(a.value)) for a in new_answers)
                    if q == category.custom_topic
                ),
                None,
            )
            if chosen:
                new_topic = chosen
        await defer(inter)
        if not changes:
            await reply(inter, Text("staff.nothing_changed"))
            return
        settings = await self.ctx.guild_settings(ticket.guild_id)
        locale = await self.ctx.guild_locale(ticket.guild_id)
        title = t(locale, "staff.edited", user=inter.author.display_name)
        diff = disnake.Embed(title=clip(title, 256), colour=settings.colour)
        for label, old_value, new_value in changes[:25]:
            diff.add_field(
                name=clip(label, 256), value=diff_block(old_value, new_value), inline=False
            )
        assert ticket.channel_id is not None
        if not await self._diff_posted(int(ticket.channel_id), diff, locale):
            await self.ctx.bot.get_partial_messageable(int(ticket.channel_id)).send(
                embed=diff, allowed_mentions=NO_PINGS
            )
        await self._refresh_opening(ticket, new_answers, new_topic, settings, locale)
        if new_answers:
            await self.ctx.tickets.save_answers(ticket, new_answers)
        after = ticket
        if new_topic != topic and new_topic is not None:
            after = await self.ctx.tickets.update_fields(ticket, topic=cipher.encrypt(new_topic))
        await ticket_updated(self.ctx, ticket, after, str(inter.author.id), str(inter.id))
        await reply(inter, Text("staff.changes_saved"))

    async def _diff_posted(self, channel_id: int, diff: disnake.Embed, locale: str) -> bool:
        """Whether the channel's latest edit diff is this one (posted by an earlier try)."""
        wanted = diff.to_dict().get("fields")
        # Every translation starts with the name, so the rest tells a diff apart.
        ending = t(locale, "staff.edited", user="")
        for message in await self.ctx.bot.http.logs_from(channel_id, 20):
            if str(message["author"]["id"]) != str(self.ctx.bot_id):
                continue
            embeds = cast(list[dict[str, Any]], message.get("embeds") or [])
            if embeds and str(embeds[0].get("title", "")).endswith(ending):
                return embeds[0].get("fields") == wanted
        return False

    async def _refresh_opening(
        self,
        ticket: Ticket,
        answers: list[Answer],
        topic: str | None,
        settings: GuildSettings,
        locale: str,
    ) -> None:
        if ticket.opening_message_id is None or ticket.channel_id is None:
            return
        http = self.ctx.bot.http
        try:
            message = await http.get_message(int(ticket.channel_id), int(ticket.opening_message_id))
        except disnake.NotFound:
            return
        plain = [
            Answer(question=a.question, label=a.label, value=self.ctx.cipher.decrypt(a.value))
            for a in answers
        ]
        details = views.answers_embed(plain, topic, settings, locale)
        embeds = list(message.get("embeds") or [])[:1]
        if details is not None:
            embeds.append(details.to_dict())
        await http.edit_message(
            int(ticket.channel_id), int(ticket.opening_message_id), embeds=embeds
        )


def edit_modal(
    number: int,
    questions: list[Question],
    answers: dict[str, str],
    topic: str | None,
    locale: str,
) -> disnake.ui.Modal:
    """The form again, prefilled, to change answers (or the topic) after opening."""
    if questions:
        fields = [views.question_field(q, answers.get(q.key)) for q in questions[:5]]
    else:
        fields = [views.topic_field(Text("staff.topic_label").render(locale), topic)]
    return disnake.ui.Modal(
        title=clip(Text("staff.edit_title", number=number).render(locale), 45),
        custom_id=custom_ids.make(custom_ids.EDITED, number),
        components=fields,
    )
