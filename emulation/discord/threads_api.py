"""Thread routes: create (alone or from a message), members, edit and delete."""

from __future__ import annotations

from aiohttp import web

from . import bodies, errors, payloads, threads
from . import permissions as perms
from .errors import DiscordError
from .models import App, Channel
from .renames import RenameLimit, too_many
from .state import PRIVATE_THREAD, PUBLIC_THREAD, THREAD_TYPES, World
from .web_util import Handler, bot_auth, json_response, no_content, path_id


class ThreadRoutes:
    def __init__(self, world: World, renames: RenameLimit | None = None) -> None:
        self.world = world
        self.renames = renames or RenameLimit()

    def routes(self) -> list[tuple[str, str, Handler]]:
        members = "/channels/{channel_id}/thread-members"
        return [
            ("POST", "/channels/{channel_id}/threads", self.create),
            ("POST", "/channels/{channel_id}/messages/{message_id}/threads", self.from_message),
            ("GET", members, self.list_members),
            ("PUT", members + "/@me", self.join),
            ("DELETE", members + "/@me", self.leave),
            ("GET", members + "/{user_id}", self.get_member),
            ("PUT", members + "/{user_id}", self.add),
            ("DELETE", members + "/{user_id}", self.remove),
            ("GET", "/guilds/{guild_id}/threads/active", self.active),
        ]

    def _thread(self, app: App, request: web.Request) -> Channel:
        thread = self.world.visible_channel(app, path_id(request, "channel_id"))
        if thread.type not in THREAD_TYPES:
            raise DiscordError(
                400, errors.WRONG_CHANNEL_TYPE, "Cannot execute action on this channel type"
            )
        self.world.require(app.bot_user.id, thread, 0)
        return thread

    def _render(self, app: App, thread: Channel) -> web.Response:
        return json_response(payloads.thread(self.world, thread, viewer=app.bot_user.id))

    async def active(self, request: web.Request) -> web.Response:
        """The guild's unarchived threads that the bot can see, with its own memberships."""
        app = bot_auth(self.world, request)
        guild = self.world.visible_guild(app, path_id(request, "guild_id"))
        found: list[Channel] = []
        for channel in list(self.world.channels.values()):
            if channel.guild_id != guild.id or channel.type not in THREAD_TYPES:
                continue
            if channel.thread is None:
                continue
            if channel.thread.archived:
                continue
            try:
                self.world.visible_channel(app, channel.id)
            except DiscordError:
                continue
            found.append(channel)
        me = app.bot_user.id
        return json_response(
            {
                "threads": [payloads.thread(self.world, t, viewer=me) for t in found],
                "members": [payloads.thread_member(t, me) for t in found if me in t.thread_members],
                "has_more": False,
            }
        )

    # -- creation -------------------------------------------------------------------------

    async def create(self, request: web.Request) -> web.Response:
        app = bot_auth(self.world, request)
        parent = self.world.visible_channel(app, path_id(request, "channel_id"))
        body = bodies.decode(await request.read(), bodies.CreateThreadBody)
        if body.type not in (PUBLIC_THREAD, PRIVATE_THREAD, threads.ANNOUNCEMENT_THREAD):
            raise errors.form_error(["type"], "THREAD_TYPE_INVALID", "Invalid thread type")
        private = body.type == PRIVATE_THREAD
        needed = perms.CREATE_PRIVATE_THREADS if private else perms.CREATE_PUBLIC_THREADS
        self.world.require(app.bot_user.id, parent, needed)
        thread = threads.create(
            self.world,
            parent,
            app.bot_user.id,
            name=body.name,
            private=private,
            auto_archive_duration=body.auto_archive_duration,
            invitable=body.invitable,
            rate_limit_per_user=body.rate_limit_per_user or 0,
        )
        return json_response(payloads.thread(self.world, thread, viewer=app.bot_user.id), 201)

    async def from_message(self, request: web.Request) -> web.Response:
        app = bot_auth(self.world, request)
        parent = self.world.visible_channel(app, path_id(request, "channel_id"))
        body = bodies.decode(await request.read(), bodies.CreateThreadBody)
        self.world.require(
            app.bot_user.id, parent, perms.CREATE_PUBLIC_THREADS | perms.READ_MESSAGE_HISTORY
        )
        message = self.world.message_in(parent, path_id(request, "message_id"))
        thread = threads.create(
            self.world,
            parent,
            app.bot_user.id,
            name=body.name,
            private=False,
            message=message,
            auto_archive_duration=body.auto_archive_duration,
            rate_limit_per_user=body.rate_limit_per_user or 0,
        )
        return json_response(payloads.thread(self.world, thread, viewer=app.bot_user.id), 201)

    # -- members --------------------------------------------------------------------------

    async def list_members(self, request: web.Request) -> web.Response:
        app = bot_auth(self.world, request)
        thread = self._thread(app, request)
        return json_response([payloads.thread_member(thread, u) for u in thread.thread_members])

    async def get_member(self, request: web.Request) -> web.Response:
        app = bot_auth(self.world, request)
        thread = self._thread(app, request)
        user_id = path_id(request, "user_id")
        if user_id not in thread.thread_members:
            raise errors.not_found(errors.UNKNOWN_MEMBER, "Member")
        return json_response(payloads.thread_member(thread, user_id))

    def _open(self, thread: Channel) -> None:
        assert thread.thread is not None
        if thread.thread.archived:
            raise DiscordError(400, threads.THREAD_ARCHIVED, "Thread is archived")

    async def join(self, request: web.Request) -> web.Response:
        app = bot_auth(self.world, request)
        thread = self._thread(app, request)
        self._open(thread)
        threads.add_member(self.world, thread, app.bot_user.id)
        return no_content()

    async def leave(self, request: web.Request) -> web.Response:
        app = bot_auth(self.world, request)
        thread = self._thread(app, request)
        threads.remove_member(self.world, thread, app.bot_user.id)
        return no_content()

    async def add(self, request: web.Request) -> web.Response:
        app = bot_auth(self.world, request)
        thread = self._thread(app, request)
        self._open(thread)
        self.world.require(app.bot_user.id, thread, perms.SEND_MESSAGES)
        assert thread.thread is not None
        moderator = threads.can_moderate(self.world, app.bot_user.id, thread)
        if thread.type == PRIVATE_THREAD and not thread.thread.invitable and not moderator:
            raise errors.missing_permissions()
        threads.add_member(self.world, thread, path_id(request, "user_id"))
        return no_content()

    async def remove(self, request: web.Request) -> web.Response:
        app = bot_auth(self.world, request)
        thread = self._thread(app, request)
        owns_private = thread.type == PRIVATE_THREAD and thread.owner_id == app.bot_user.id
        if not owns_private and not threads.can_moderate(self.world, app.bot_user.id, thread):
            raise errors.missing_permissions()
        self._open(thread)
        threads.remove_member(self.world, thread, path_id(request, "user_id"))
        return no_content()

    # -- PATCH and DELETE /channels/{id} on a thread --------------------------------------

    async def modify(self, request: web.Request, app: App, thread: Channel) -> web.Response:
        body = bodies.decode(await request.read(), bodies.ModifyThreadBody)
        self.world.require(app.bot_user.id, thread, 0)
        meta = thread.thread
        assert meta is not None
        moderator = threads.can_moderate(self.world, app.bot_user.id, thread)
        owner_only = body.locked is None and body.invitable is None
        if not moderator and not (thread.owner_id == app.bot_user.id and owner_only):
            raise errors.missing_permissions()
        if meta.locked and meta.archived and body.archived is False and not moderator:
            raise errors.missing_permissions()
        if body.name is not None and body.name != thread.name:
            wait = self.renames.admit(thread.id)
            if wait is not None:
                return too_many(wait)
        threads.update(
            self.world,
            thread,
            name=body.name,
            archived=body.archived,
            locked=body.locked,
            auto_archive_duration=body.auto_archive_duration,
            invitable=body.invitable,
            rate_limit_per_user=body.rate_limit_per_user,
        )
        return self._render(app, thread)

    async def delete(self, app: App, thread: Channel) -> web.Response:
        self.world.require(app.bot_user.id, thread, perms.MANAGE_THREADS)
        rendered = payloads.thread(self.world, thread, viewer=app.bot_user.id)
        self.world.delete_channel(thread)
        return json_response(rendered)
