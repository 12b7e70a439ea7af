"""Members played by a test: slash commands, clicks, modal answers, plain messages.

Each action builds the INTERACTION_CREATE Discord would send (permissions computed
for the channel, options typed from the registered command, resolved objects filled
in) and delivers it over the application's gateway session.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from . import modals, payloads
from . import permissions as perms
from .gateway import GatewayHub
from .member_actions import ActorError, MemberActions, id_of
from .models import JSON, Channel, Command, Interaction, Message
from .state import World

# What a bot may do in a DM: view, send, embed, attach, read history, reactions.
DM_APP_PERMISSIONS = (
    perms.VIEW_CHANNEL
    | perms.SEND_MESSAGES
    | perms.EMBED_LINKS
    | perms.ATTACH_FILES
    | perms.READ_MESSAGE_HISTORY
    | perms.ADD_REACTIONS
)

APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 2, 3, 4, 5
CHAT_INPUT, USER_COMMAND, MESSAGE_COMMAND = 1, 2, 3
SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2
STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE, MENTIONABLE, NUMBER = 3, 4, 5, 6, 7, 8, 9, 10
_SELECTS = {3, 5, 6, 7, 8}
# Select menu type -> the option type whose resolved objects its values need.
_SELECT_RESOLVES = {5: USER, 6: ROLE, 7: MENTIONABLE, 8: CHANNEL}


class FakeInteraction:
    """An interaction sent to the bot; wait here for what the bot answered."""

    def __init__(self, world: World, record: Interaction, delivered: int) -> None:
        self._world = world
        self.record = record
        self.id = record.id
        self.token = record.token
        self.payload = record.payload
        # How many gateway sessions it went to; 0 means no bot was listening.
        self.delivered = delivered

    @property
    def callback(self) -> JSON | None:
        return self.record.callback

    # The timeout is part of the tests' API: ``await inter.response(timeout=10)``.
    async def response(self, timeout: float = 10.0) -> JSON:  # noqa: ASYNC109
        """The callback body the bot POSTed: ``{"type": N, "data": {...}}``."""
        try:
            await self._world.wait_until(lambda: self.record.callback is not None, timeout)
        except TimeoutError:
            raise TimeoutError(
                f"no callback for interaction {self.id} within {timeout}s "
                f"(delivered to {self.delivered} gateway session(s))"
            ) from None
        assert self.record.callback is not None
        return dict(self.record.callback)

    async def followups(self, count: int = 1, timeout: float = 10.0) -> list[JSON]:  # noqa: ASYNC109
        """Messages the bot sent through the interaction webhook, once there are ``count``."""
        try:
            await self._world.wait_until(lambda: len(self.record.followup_ids) >= count, timeout)
        except TimeoutError:
            raise TimeoutError(
                f"interaction {self.id}: {len(self.record.followup_ids)} of {count} "
                f"followup(s) after {timeout}s"
            ) from None
        return [
            payloads.message(self._world, self._world.messages[m])
            for m in self.record.followup_ids
            if m in self._world.messages
        ]

    def original(self) -> JSON | None:
        """The original response message (ephemeral ones included), as Discord would render it."""
        found = self.record.original_message_id
        if found is None or found not in self._world.messages:
            return None
        return payloads.message(self._world, self._world.messages[found])


def walk_components(tree: Sequence[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    for node in tree:
        yield node
        yield from walk_components(node.get("components", []))
        for key in ("component", "accessory"):
            child = node.get(key)
            if isinstance(child, Mapping):
                yield from walk_components([child])


class Actor(MemberActions):
    """One member of one guild, acting towards one application."""

    def __init__(
        self, world: World, hub: GatewayHub, app_id: int, guild_id: int, user_id: int
    ) -> None:
        guild = world.guild(guild_id)
        if user_id not in guild.members:
            raise ActorError(f"user {user_id} is not a member of guild {guild_id}")
        self._world = world
        self._hub = hub
        self.app_id = app_id
        self.guild_id = guild_id
        self.user_id = user_id

    # -- interactions ---------------------------------------------------------------------

    async def slash(
        self, name: str, options: Mapping[str, Any] | None = None, *, channel_id: int | None = None
    ) -> FakeInteraction:
        """Run ``/name`` (``"ticket close"`` for a subcommand); values may be ids or records."""
        channel = self._channel(channel_id)
        _, data = self._command_data(name, options or {}, None, channel)
        return self._send(APPLICATION_COMMAND, data, channel)

    async def autocomplete(
        self, name: str, options: Mapping[str, Any], focused: str, *, channel_id: int | None = None
    ) -> FakeInteraction:
        channel = self._channel(channel_id)
        _, data = self._command_data(name, options, focused, channel)
        return self._send(AUTOCOMPLETE, data, channel)

    async def user_command(
        self, name: str, target: Any, *, channel_id: int | None = None
    ) -> FakeInteraction:
        """Right-click a user (a member of this guild or not) and pick the app's ``name``."""
        channel = self._channel(channel_id)
        command = self._find_command(name, USER_COMMAND)
        target_id = id_of(target)
        resolved = self._resolved_for([(USER, str(target_id))], channel)
        return self._send(
            APPLICATION_COMMAND, self._context_data(command, target_id, resolved), channel
        )

    async def message_command(self, name: str, channel_id: int, message_id: int) -> FakeInteraction:
        """Right-click a message the member can see and pick the app's ``name``."""
        channel = self._channel(channel_id)
        if not self._world.permissions(self.guild_id, self.user_id, channel.id) & (
            perms.VIEW_CHANNEL
        ):
            raise ActorError(f"user {self.user_id} cannot see channel {channel_id}")
        message = self._world.messages.get(message_id)
        if message is None or message.channel_id != channel.id or message.ephemeral:
            raise ActorError(f"message {message_id} is not in channel {channel_id}")
        command = self._find_command(name, MESSAGE_COMMAND)
        rendered = payloads.message(self._world, message) | {"guild_id": str(self.guild_id)}
        resolved: JSON = {"messages": {str(message.id): rendered}}
        return self._send(
            APPLICATION_COMMAND, self._context_data(command, message.id, resolved), channel
        )

    async def click(self, message_id: int, custom_id: str) -> FakeInteraction:
        message, component = self._component(message_id, custom_id)
        if component.get("type") != 2:
            raise ActorError(f"component {custom_id!r} is not a button")
        data: JSON = {"custom_id": custom_id, "component_type": 2}
        return self._send(
            MESSAGE_COMPONENT, data, self._world.channels[message.channel_id], message=message
        )

    async def select(
        self, message_id: int, custom_id: str, values: Sequence[Any]
    ) -> FakeInteraction:
        message, component = self._component(message_id, custom_id)
        kind = component.get("type")
        if kind not in _SELECTS:
            raise ActorError(f"component {custom_id!r} is not a select menu")
        if kind == 3:
            offered = {o.get("value") for o in component.get("options", [])}
            chosen = [str(v) for v in values]
            if not set(chosen) <= offered:
                raise ActorError(f"{chosen} not among the options of {custom_id!r}")
        else:
            chosen = [str(id_of(v)) for v in values]
        data: JSON = {"custom_id": custom_id, "component_type": kind, "values": chosen}
        channel = self._world.channels[message.channel_id]
        if kind != 3:
            resolved = self._resolved_for([(_SELECT_RESOLVES[kind], v) for v in chosen], channel)
            if resolved:
                data["resolved"] = resolved
        return self._send(MESSAGE_COMPONENT, data, channel, message=message)

    async def submit_modal(
        self, custom_id: str, values: Mapping[str, Any], *, channel_id: int | None = None
    ) -> FakeInteraction:
        """Answer a modal: text for inputs, a list of chosen values (or records) for selects.

        When the bot showed a modal with this custom_id, the answer follows its layout and
        is checked as the Discord client checks it (required fields, select bounds and
        options); otherwise each value goes in as a text input in its own action row.
        """
        opener = self._modal_opener(custom_id)
        picked: list[tuple[int, str]] = []
        if opener is not None:
            assert opener.callback is not None
            layout = opener.callback.get("data", {}).get("components", [])
            try:
                rows, picked = modals.submission(layout, values)
            except modals.SubmitError as exc:
                raise ActorError(str(exc)) from None
            channel = self._interaction_channel(
                channel_id if channel_id is not None else opener.channel_id
            )
            source = (
                self._world.messages.get(opener.source_message_id)
                if opener.source_message_id is not None
                else None
            )
        else:
            rows = [
                {"type": 1, "components": [{"type": 4, "custom_id": k, "value": str(v)}]}
                for k, v in values.items()
            ]
            channel, source = self._channel(channel_id), None
        data: JSON = {"custom_id": custom_id, "components": rows}
        resolved = self._resolved_for([(_SELECT_RESOLVES[k], v) for k, v in picked], channel)
        if resolved:
            data["resolved"] = resolved
        return self._send(MODAL_SUBMIT, data, channel, message=source)

    # -- building blocks ------------------------------------------------------------------

    def _own_dm(self, channel_id: int | None) -> Channel | None:
        """The DM between this member and the app's bot, when ``channel_id`` names it."""
        if channel_id is None:
            return None
        bot = self._world.apps[self.app_id].bot_user.id
        dm = self._world.find_dm(bot, self.user_id)
        return dm if dm is not None and dm.id == channel_id else None

    def _interaction_channel(self, channel_id: int | None) -> Channel:
        """Where an interaction may happen: a text channel of the guild or the bot's DM."""
        return self._own_dm(channel_id) or self._channel(channel_id)

    def _send(
        self, kind: int, data: JSON, channel: Channel, *, message: Message | None = None
    ) -> FakeInteraction:
        world = self._world
        interaction_id = world.ids.next()
        token = world.new_interaction_token(interaction_id)
        payload: JSON = {
            "id": str(interaction_id),
            "application_id": str(self.app_id),
            "type": kind,
            "data": data,
            "channel": payloads.interaction_channel(world, channel, self.user_id),
            "channel_id": str(channel.id),
            "token": token,
            "version": 1,
            "locale": world.users[self.user_id].locale,
            "attachment_size_limit": payloads.ATTACHMENT_SIZE_LIMIT,
            "entitlements": [],
        }
        in_dm = channel.guild_id is None
        payload |= self._dm_fields() if in_dm else self._guild_fields(channel)
        if message is not None:
            payload["message"] = payloads.message(world, message)
        record = Interaction(
            id=interaction_id,
            token=token,
            application_id=self.app_id,
            type=kind,
            user_id=self.user_id,
            guild_id=None if in_dm else self.guild_id,
            channel_id=channel.id,
            payload=payload,
            source_message_id=message.id if message is not None else None,
        )
        world.add_interaction(record)
        delivered = self._hub.dispatch(self.app_id, "INTERACTION_CREATE", payload)
        return FakeInteraction(world, record, delivered)

    def _guild_fields(self, channel: Channel) -> JSON:
        """Discord's shape in a guild: the member with its permissions here."""
        world = self._world
        guild = world.guild(self.guild_id)
        if self.app_id not in guild.app_ids:
            raise ActorError(f"application {self.app_id} is not installed in guild {self.guild_id}")
        app = world.apps[self.app_id]
        member = guild.members[self.user_id]
        return {
            "guild_id": str(guild.id),
            "guild": {"id": str(guild.id), "locale": guild.locale, "features": []},
            "member": payloads.member(world, member)
            | {"permissions": str(world.permissions(guild.id, self.user_id, channel.id))},
            "guild_locale": guild.locale,
            "app_permissions": str(world.permissions(guild.id, app.bot_user.id, channel.id)),
            "authorizing_integration_owners": {"0": str(guild.id)},
            "context": 0,
        }

    def _dm_fields(self) -> JSON:
        """Discord's shape in a bot DM: ``user`` instead of ``member``, no guild."""
        return {
            "user": payloads.user(self._world, self.user_id),
            "app_permissions": str(DM_APP_PERMISSIONS),
            "authorizing_integration_owners": {"0": "0"},
            "context": 1,
        }

    def _find_command(self, name: str, kind: int) -> Command:
        command = self._world.find_command(self.app_id, self.guild_id, name, kind)
        if command is None:
            known = sorted(
                (c.type, c.name)
                for c in self._world.commands.values()
                if c.application_id == self.app_id and c.guild_id in (None, self.guild_id)
            )
            shown = f"/{name}" if kind == CHAT_INPUT else f"{name!r} (type {kind})"
            raise ActorError(
                f"{shown} is not registered for application {self.app_id} "
                f"(registered (type, name): {known})"
            )
        return command

    def _context_data(self, command: Command, target_id: int, resolved: JSON) -> JSON:
        data: JSON = {
            "id": str(command.id),
            "name": command.name,
            "type": command.type,
            "target_id": str(target_id),
            "resolved": resolved,
        }
        if command.guild_id is not None:
            data["guild_id"] = str(command.guild_id)
        return data

    def _command_data(
        self, name: str, values: Mapping[str, Any], focused: str | None, channel: Channel
    ) -> tuple[Command, JSON]:
        root, *path = name.split()
        command = self._find_command(root, CHAT_INPUT)
        definitions: list[JSON] = list(command.body.get("options") or [])
        nest: list[tuple[JSON, list[JSON]]] = []
        for part in path:
            sub = next(
                (
                    o
                    for o in definitions
                    if o.get("name") == part and o.get("type") in (SUB_COMMAND, SUB_COMMAND_GROUP)
                ),
                None,
            )
            if sub is None:
                raise ActorError(f"/{root} has no subcommand {part!r}")
            nest.append((sub, []))
            definitions = list(sub.get("options") or [])
        leaves, typed = self._typed_options(name, definitions, values, focused)
        options = leaves
        for sub, _ in reversed(nest):
            options = [{"name": sub["name"], "type": sub["type"], "options": options}]
        data: JSON = {"id": str(command.id), "name": command.name, "type": 1}
        if options:
            data["options"] = options
        if command.guild_id is not None:
            data["guild_id"] = str(command.guild_id)
        resolved = self._resolved_for(typed, channel)
        if resolved:
            data["resolved"] = resolved
        return command, data

    def _typed_options(
        self, name: str, definitions: list[JSON], values: Mapping[str, Any], focused: str | None
    ) -> tuple[list[JSON], list[tuple[int, str]]]:
        by_name = {d["name"]: d for d in definitions}
        unknown = set(values) - set(by_name)
        if unknown:
            raise ActorError(
                f"/{name} has no option(s) {sorted(unknown)}; it has {sorted(by_name)}"
            )
        missing = [n for n, d in by_name.items() if d.get("required") and n not in values]
        if missing and focused is None:
            raise ActorError(f"/{name} needs option(s) {missing}")
        out: list[JSON] = []
        typed: list[tuple[int, str]] = []
        for option_name, raw in values.items():
            definition = by_name[option_name]
            kind = int(definition["type"])
            value = self._coerce(name, definition, raw, partial=option_name == focused)
            option: JSON = {"name": option_name, "type": kind, "value": value}
            if option_name == focused:
                option["focused"] = True
            out.append(option)
            if kind in (USER, CHANNEL, ROLE, MENTIONABLE):
                typed.append((kind, str(value)))
        return out, typed

    def _coerce(self, name: str, definition: JSON, raw: Any, *, partial: bool) -> Any:
        kind = int(definition["type"])
        if partial:
            return str(raw)
        value: Any
        if kind == STRING:
            value = str(raw)
        elif kind == INTEGER:
            value = int(raw)
        elif kind == NUMBER:
            value = float(raw)
        elif kind == BOOLEAN:
            value = raw if isinstance(raw, bool) else str(raw).lower() in ("true", "1", "yes")
        elif kind in (USER, CHANNEL, ROLE, MENTIONABLE):
            value = str(id_of(raw))
        else:
            raise ActorError(f"/{name}: option type {kind} is not supported by the actor")
        choices = definition.get("choices")
        if choices and value not in [c.get("value") for c in choices]:
            raise ActorError(
                f"/{name}: {value!r} is not one of the choices of {definition['name']!r}"
            )
        return value

    def _resolved_for(self, typed: list[tuple[int, str]], channel: Channel) -> JSON:
        world = self._world
        guild = world.guild(self.guild_id)
        resolved: dict[str, dict[str, JSON]] = {}
        for kind, raw in typed:
            target = int(raw)
            is_role = target in guild.roles
            if kind == ROLE or (kind == MENTIONABLE and is_role):
                if not is_role:
                    raise ActorError(f"role {target} is not in guild {guild.id}")
                resolved.setdefault("roles", {})[raw] = payloads.role(guild.roles[target])
            elif kind in (USER, MENTIONABLE):
                if target not in world.users:
                    raise ActorError(f"user {target} does not exist")
                resolved.setdefault("users", {})[raw] = payloads.user(world, target)
                if target in guild.members:
                    resolved.setdefault("members", {})[raw] = payloads.resolved_member(
                        world, guild.id, target, channel.id
                    )
            elif kind == CHANNEL:
                found = world.channels.get(target)
                if found is None or found.guild_id != guild.id:
                    raise ActorError(f"channel {target} is not in guild {guild.id}")
                resolved.setdefault("channels", {})[raw] = payloads.interaction_channel(
                    world, found, self.user_id
                )
        return dict(resolved)

    def _component(self, message_id: int, custom_id: str) -> tuple[Message, Mapping[str, Any]]:
        message = self._world.messages.get(message_id)
        if message is None:
            raise ActorError(f"message {message_id} does not exist")
        if message.guild_id != self.guild_id and self._own_dm(message.channel_id) is None:
            raise ActorError(f"message {message_id} is not in guild {self.guild_id} nor our DM")
        for component in walk_components(message.components):
            if component.get("custom_id") == custom_id:
                if component.get("disabled"):
                    raise ActorError(f"component {custom_id!r} is disabled")
                return message, component
        raise ActorError(f"message {message_id} has no component with custom_id {custom_id!r}")

    def _modal_opener(self, custom_id: str) -> Interaction | None:
        """The latest interaction of this member answered with a modal of this custom_id."""
        for record in reversed(list(self._world.interactions.values())):
            callback = record.callback or {}
            if (
                record.application_id == self.app_id
                and record.user_id == self.user_id
                and callback.get("type") == 9
                and (callback.get("data") or {}).get("custom_id") == custom_id
            ):
                return record
        return None
