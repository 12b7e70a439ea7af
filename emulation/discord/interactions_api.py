"""Interaction callbacks and the interaction webhook (followups, original response).

These routes carry no Authorization header: the interaction token is the credential.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from . import bodies, errors, modals, payloads
from .errors import DiscordError
from .message_input import MessageInput, message_fields, read_input
from .models import Channel, Interaction, Message
from .rest import LOADING
from .state import World
from .web_util import Handler, json_response, no_content, path_id

PING, APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 1, 2, 3, 4, 5
PONG, CHANNEL_MESSAGE, DEFERRED_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE = 1, 4, 5, 6, 7
AUTOCOMPLETE_RESULT, MODAL = 8, 9

# Which callback types Discord accepts for each interaction type.
ALLOWED_CALLBACKS: dict[int, frozenset[int]] = {
    PING: frozenset({PONG}),
    APPLICATION_COMMAND: frozenset({CHANNEL_MESSAGE, DEFERRED_MESSAGE, MODAL}),
    MESSAGE_COMPONENT: frozenset(
        {CHANNEL_MESSAGE, DEFERRED_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE, MODAL}
    ),
    AUTOCOMPLETE: frozenset({AUTOCOMPLETE_RESULT}),
    MODAL_SUBMIT: frozenset({CHANNEL_MESSAGE, DEFERRED_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE}),
}
_WEBHOOK_FLAGS = (
    bodies.EPHEMERAL
    | bodies.SUPPRESS_EMBEDS
    | bodies.SUPPRESS_NOTIFICATIONS
    | bodies.IS_COMPONENTS_V2
)


class InteractionRoutes:
    def __init__(self, world: World) -> None:
        self.world = world

    def routes(self) -> list[tuple[str, str, Handler]]:
        message = "/webhooks/{app_id}/{token}/messages/{message_id}"
        return [
            ("POST", "/interactions/{interaction_id}/{token}/callback", self.callback),
            ("POST", "/webhooks/{app_id}/{token}", self.followup),
            ("GET", message, self.get_message),
            ("PATCH", message, self.edit_message),
            ("DELETE", message, self.delete_message),
        ]

    # -- callback -------------------------------------------------------------------------

    async def callback(self, request: web.Request) -> web.Response:
        inter = self.world.interaction(
            path_id(request, "interaction_id"), request.match_info["token"]
        )
        self.respond(inter, await read_input(request))
        return no_content()

    def respond(self, inter: Interaction, inp: MessageInput) -> None:
        """Apply an interaction response, from the callback route or an HTTP endpoint's answer.

        Raises ``DiscordError`` as the callback route would answer it.
        """
        body = bodies.convert(inp.raw, bodies.CallbackBody)
        if inter.callback is not None:
            raise DiscordError(
                400,
                errors.INTERACTION_ALREADY_ACKNOWLEDGED,
                "Interaction has already been acknowledged.",
            )
        kind, data = body.type, body.data or {}
        if kind not in ALLOWED_CALLBACKS.get(inter.type, frozenset()) or (
            kind == UPDATE_MESSAGE and inter.source_message_id is None
        ):
            raise errors.form_error(
                ["type"],
                "INTERACTION_RESPONSE_TYPE_INVALID",
                "This response type is not valid for this interaction",
            )
        if kind == CHANNEL_MESSAGE:
            fields = message_fields(self.world, inp, data)
            bodies.require_not_empty(
                fields.get("content", ""),
                fields.get("embeds", []),
                fields.get("components", []),
                len(fields.get("attachments", [])),
                0,
            )
            inter.original_message_id = self._respond(inter, fields).id
        elif kind == DEFERRED_MESSAGE:
            ephemeral = int(data.get("flags") or 0) & bodies.EPHEMERAL
            inter.original_message_id = self._respond(inter, {"flags": ephemeral}, LOADING).id
        elif kind == UPDATE_MESSAGE:
            assert inter.source_message_id is not None
            target = self.world.messages.get(inter.source_message_id)
            if target is None:
                raise errors.not_found(errors.UNKNOWN_MESSAGE, "Message")
            self.world.edit_message(target, message_fields(self.world, inp, data, editing=target))
            inter.original_message_id = target.id
        elif kind == AUTOCOMPLETE_RESULT:
            choices = data.get("choices")
            if not isinstance(choices, list) or len(choices) > 25:
                raise errors.form_error(
                    ["data", "choices"], "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."
                )
        callback = inp.raw
        if kind == MODAL:
            # Kept with the ids Discord fills in: the submit refers to them.
            callback = {"type": MODAL, "data": modals.validate(data)}
        inter.callback = callback
        self.world.touch()

    def _respond(self, inter: Interaction, fields: dict[str, Any], extra_flags: int = 0) -> Message:
        """The original response: in the channel, or kept on the interaction when ephemeral."""
        flags = (int(fields.pop("flags", 0) or 0) & _WEBHOOK_FLAGS) | extra_flags
        return self._post(
            inter, fields, flags, message_type=20 if inter.type == APPLICATION_COMMAND else 0
        )

    def _post(
        self, inter: Interaction, fields: dict[str, Any], flags: int, message_type: int = 0
    ) -> Message:
        channel = self.world.channels.get(inter.channel_id)
        ephemeral = bool(flags & bodies.EPHEMERAL)
        if channel is None:
            # A hand-made interaction may name a channel the world does not have: keep the
            # message on the interaction only, as for ephemeral ones.
            channel = Channel(id=inter.channel_id, type=0, guild_id=inter.guild_id)
            ephemeral = True
        fields.pop("tts", None)
        return self.world.create_message(
            channel,
            self.world.apps[inter.application_id].bot_user.id,
            flags=flags,
            message_type=message_type,
            application_id=inter.application_id,
            webhook_id=inter.application_id,
            interaction_id=inter.id,
            ephemeral=ephemeral,
            **fields,
        )

    # -- webhook --------------------------------------------------------------------------

    def _interaction(self, request: web.Request) -> Interaction:
        inter = self.world.interaction_by_token(
            path_id(request, "app_id"), request.match_info["token"]
        )
        if inter.callback is None:
            # Nothing to follow up before the interaction is acknowledged.
            raise errors.not_found(errors.UNKNOWN_WEBHOOK, "Webhook")
        return inter

    def _own_message(self, inter: Interaction, request: web.Request) -> Message:
        raw = request.match_info["message_id"]
        message_id = (
            inter.original_message_id
            if raw == "@original"
            else bodies.snowflake(raw, ["message_id"])
        )
        if message_id is None or (
            message_id != inter.original_message_id and message_id not in inter.followup_ids
        ):
            raise errors.not_found(errors.UNKNOWN_MESSAGE, "Message")
        message = self.world.messages.get(message_id)
        if message is None:
            raise errors.not_found(errors.UNKNOWN_MESSAGE, "Message")
        return message

    async def followup(self, request: web.Request) -> web.Response:
        inter = self._interaction(request)
        inp = await read_input(request)
        fields = message_fields(self.world, inp, inp.raw)
        bodies.require_not_empty(
            fields.get("content", ""),
            fields.get("embeds", []),
            fields.get("components", []),
            len(fields.get("attachments", [])),
            0,
        )
        original = (
            self.world.messages.get(inter.original_message_id)
            if inter.original_message_id is not None
            else None
        )
        if original is not None and original.flags & LOADING and not inter.followup_ids:
            # Discord: the first followup after a deferral fills the "thinking" message,
            # keeping the ephemeral choice made when deferring.
            fields["flags"] = original.flags & ~LOADING
            fields.pop("tts", None)
            self.world.edit_message(original, fields)
            message = original
        else:
            flags = int(fields.pop("flags", 0) or 0) & _WEBHOOK_FLAGS
            message = self._post(inter, fields, flags)
        inter.followup_ids.append(message.id)
        if request.query.get("wait", "").lower() in ("true", "1"):
            return json_response(payloads.message(self.world, message))
        return no_content()

    async def get_message(self, request: web.Request) -> web.Response:
        message = self._own_message(self._interaction(request), request)
        return json_response(payloads.message(self.world, message))

    async def edit_message(self, request: web.Request) -> web.Response:
        message = self._own_message(self._interaction(request), request)
        inp = await read_input(request)
        fields = message_fields(self.world, inp, inp.raw, editing=message)
        # Ephemerality is fixed at creation; an edit only ends the loading state.
        requested = int(fields.get("flags", message.flags) or 0)
        fields["flags"] = (requested & _WEBHOOK_FLAGS & ~bodies.EPHEMERAL) | (
            message.flags & bodies.EPHEMERAL
        )
        self.world.edit_message(message, fields)
        return json_response(payloads.message(self.world, message))

    async def delete_message(self, request: web.Request) -> web.Response:
        inter = self._interaction(request)
        message = self._own_message(inter, request)
        self.world.delete_message(message)
        return no_content()
