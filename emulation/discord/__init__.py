"""A local Discord (REST v10 + gateway) that an unchanged disnake bot connects to.

Typical use::

    fd = FakeDiscord()
    await fd.start()
    disnake.http.Route.BASE = fd.api_base
    app = fd.add_application("Tickets")
    guild = fd.add_guild("Guild")
    fd.install(app.id, guild.id)
    ...  # run the bot with app.token, then act as members:
    inter = await fd.actor(app.id, guild.id, user.id).slash("panel")
    await inter.response()

Actors also post, edit and delete messages, DM bots, start and join threads, use
context menus (``user_command``, ``message_command``) and fill in label modals;
``FakeDiscord`` removes and times out members and shows what each member can see.

Failures on demand: RECONNECT, INVALID_SESSION, any close code, dropped sockets,
session start limits and identify concurrency (gateway); delayed or failed calls
(``fd.faults``, REST); interactions can go to an HTTP endpoint, signed, instead of the
gateway. ``FakeDiscord``'s docstring lists the hooks.
"""

from .actors import Actor, FakeInteraction
from .errors import DiscordError
from .faults import RestFaults
from .http_interactions import EndpointRejected
from .member_actions import ActorError
from .models import (
    App,
    Attachment,
    Channel,
    Guild,
    Interaction,
    Member,
    Message,
    Overwrite,
    Role,
    User,
)
from .server import FakeDiscord
from .snowflake import SnowflakeFactory

__all__ = [
    "Actor",
    "ActorError",
    "App",
    "Attachment",
    "Channel",
    "DiscordError",
    "EndpointRejected",
    "FakeDiscord",
    "FakeInteraction",
    "Guild",
    "Interaction",
    "Member",
    "Message",
    "Overwrite",
    "RestFaults",
    "Role",
    "SnowflakeFactory",
    "User",
]
