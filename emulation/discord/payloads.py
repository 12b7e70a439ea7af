"""Records rendered as Discord's JSON objects (REST responses and gateway event data).

Shapes follow Discord's OpenAPI spec, required fields included, since clients
(disnake among them) index some fields without a default.
"""

from __future__ import annotations

from typing import Any

from .models import (
    JSON,
    App,
    Attachment,
    BulkDelete,
    Channel,
    Command,
    Guild,
    Interaction,
    JoinedThread,
    Member,
    MemberLeft,
    Message,
    Overwrite,
    PresenceChange,
    Role,
    ThreadMembersChange,
)
from .state import DM, THREAD_TYPES, World

ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024


def sid(value: int | None) -> str | None:
    return None if value is None else str(value)


def user(world: World, user_id: int) -> JSON:
    found = world.users[user_id]
    out: JSON = {
        "id": str(found.id),
        "username": found.username,
        "avatar": found.avatar,
        "discriminator": "0",
        "public_flags": 0,
        "flags": 0,
        "global_name": found.global_name,
        "primary_guild": None,
    }
    if found.bot:
        out["bot"] = True
    return out


def current_user(world: World, user_id: int) -> JSON:
    """``/users/@me``: the public user plus the private fields a bot sees about itself."""
    return user(world, user_id) | {
        "mfa_enabled": False,
        "locale": "en-US",
        "verified": True,
        "email": None,
    }


def role(found: Role) -> JSON:
    out: JSON = {
        "id": str(found.id),
        "name": found.name,
        "permissions": str(found.permissions),
        "position": found.position,
        "color": found.color,
        # disnake reads the newer colors object without a default.
        "colors": {
            "primary_color": found.color,
            "secondary_color": None,
            "tertiary_color": None,
        },
        "hoist": found.hoist,
        "managed": found.managed,
        "mentionable": found.mentionable,
        "icon": None,
        "unicode_emoji": None,
        "flags": 0,
    }
    if found.bot_id is not None:
        out["tags"] = {"bot_id": str(found.bot_id)}
    return out


def member(world: World, found: Member, *, with_user: bool = True) -> JSON:
    out: JSON = {
        "avatar": None,
        "banner": None,
        "communication_disabled_until": found.communication_disabled_until,
        "flags": 0,
        "joined_at": found.joined_at,
        "nick": found.nick,
        "pending": False,
        "premium_since": None,
        "roles": [str(r) for r in found.roles],
        "mute": False,
        "deaf": False,
    }
    if with_user:
        out["user"] = user(world, found.user_id)
    return out


def overwrite(found: Overwrite) -> JSON:
    return {
        "id": str(found.id),
        "type": found.type,
        "allow": str(found.allow),
        "deny": str(found.deny),
    }


def thread_member(found: Channel, user_id: int) -> JSON:
    return {
        "id": str(found.id),
        "user_id": str(user_id),
        "join_timestamp": found.thread_members[user_id],
        "flags": 0,
    }


def thread(world: World, found: Channel, *, viewer: int | None = None) -> JSON:
    """A thread channel; ``member`` says whether ``viewer`` (a bot) has joined it."""
    meta = found.thread
    assert meta is not None
    metadata: JSON = {
        "archived": meta.archived,
        "archive_timestamp": meta.archive_timestamp,
        "auto_archive_duration": meta.auto_archive_duration,
        "locked": meta.locked,
        "create_timestamp": meta.create_timestamp,
    }
    if meta.invitable is not None:
        metadata["invitable"] = meta.invitable
    out: JSON = {
        "id": str(found.id),
        "type": found.type,
        "flags": 0,
        "guild_id": str(found.guild_id),
        "name": found.name or "",
        "parent_id": sid(found.parent_id),
        "owner_id": str(found.owner_id),
        "last_message_id": sid(found.last_message_id),
        "last_pin_timestamp": found.last_pin_timestamp,
        "rate_limit_per_user": found.rate_limit_per_user,
        "thread_metadata": metadata,
        "message_count": found.message_count,
        "member_count": min(len(found.thread_members), 50),
        "total_message_sent": found.total_message_sent,
    }
    if viewer is not None and viewer in found.thread_members:
        out["member"] = thread_member(found, viewer)
    return out


def channel(world: World, found: Channel, *, viewer: int | None = None) -> JSON:
    if found.type in THREAD_TYPES:
        return thread(world, found, viewer=viewer)
    if found.type == DM:
        return {
            "id": str(found.id),
            "type": DM,
            "last_message_id": sid(found.last_message_id),
            "flags": 0,
            "recipients": [user(world, u) for u in found.recipient_ids[:1]],
        }
    out: JSON = {
        "id": str(found.id),
        "type": found.type,
        "flags": 0,
        "guild_id": str(found.guild_id),
        "name": found.name or "",
        "parent_id": sid(found.parent_id),
        "position": found.position,
        "permission_overwrites": [overwrite(o) for o in found.permission_overwrites],
        "nsfw": found.nsfw,
    }
    if found.type == 2:
        out |= {"bitrate": found.bitrate, "user_limit": found.user_limit, "rtc_region": None}
    if found.type != 4:
        out |= {
            "last_message_id": sid(found.last_message_id),
            "rate_limit_per_user": found.rate_limit_per_user,
        }
    if found.type in (0, 5):
        out |= {"topic": found.topic, "last_pin_timestamp": found.last_pin_timestamp}
    return out


def guild(world: World, found: Guild, *, with_counts: bool = False) -> JSON:
    out: JSON = {
        "id": str(found.id),
        "name": found.name,
        "icon": None,
        "description": None,
        "home_header": None,
        "splash": None,
        "discovery_splash": None,
        "features": [],
        "banner": None,
        "owner_id": str(found.owner_id),
        "application_id": None,
        "region": "deprecated",
        "afk_channel_id": None,
        "afk_timeout": 300,
        "system_channel_id": None,
        "system_channel_flags": 0,
        "widget_enabled": False,
        "widget_channel_id": None,
        "verification_level": 0,
        "roles": [role(r) for r in found.roles.values()],
        "default_message_notifications": 0,
        "mfa_level": 0,
        "explicit_content_filter": 0,
        "max_presences": None,
        "max_members": 500000,
        "max_stage_video_channel_users": 50,
        "max_video_channel_users": 25,
        "vanity_url_code": None,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "preferred_locale": found.locale,
        "rules_channel_id": None,
        "safety_alerts_channel_id": None,
        "public_updates_channel_id": None,
        "premium_progress_bar_enabled": False,
        "nsfw": False,
        "nsfw_level": 0,
        "emojis": [],
        "stickers": [],
        "incidents_data": None,
    }
    if with_counts:
        out["approximate_member_count"] = len(found.members)
        out["approximate_presence_count"] = 0
    return out


def presence(guild_id: int, user_id: int, status: str) -> JSON:
    """A member's presence: GUILD_CREATE's ``presences`` items and PRESENCE_UPDATE."""
    return {
        "user": {"id": str(user_id)},
        "guild_id": str(guild_id),
        "status": status,
        "activities": [],
        "client_status": {} if status == "offline" else {"desktop": status},
    }


def guild_create(world: World, found: Guild) -> JSON:
    """The gateway's full guild: REST fields plus channels, members and join data."""
    bot_joined = next(
        (m.joined_at for m in found.members.values() if world.users[m.user_id].bot),
        found.members[found.owner_id].joined_at,
    )
    return guild(world, found) | {
        "unavailable": False,
        "joined_at": bot_joined,
        "large": len(found.members) > 250,
        "member_count": len(found.members),
        "members": [member(world, m) for m in found.members.values()],
        "channels": [channel(world, world.channels[c]) for c in found.channel_ids],
        "threads": [thread(world, t) for t in world.threads(found.id) if not _archived(t)],
        "voice_states": [],
        # Only for bots with the GUILD_PRESENCES intent (the gateway strips it otherwise).
        "presences": [
            presence(found.id, m.user_id, world.presences[m.user_id])
            for m in found.members.values()
            if world.presences.get(m.user_id, "offline") != "offline"
        ],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
        "lazy": True,
    }


def _archived(found: Channel) -> bool:
    return found.thread is not None and found.thread.archived


def attachment(world: World, found: Attachment, channel_id: int) -> JSON:
    url = f"{world.base_url}/attachments/{channel_id}/{found.id}/{found.filename}"
    out: JSON = {
        "id": str(found.id),
        "filename": found.filename,
        "size": found.size,
        "url": url,
        "proxy_url": url,
    }
    if found.content_type is not None:
        out["content_type"] = found.content_type
    if found.description is not None:
        out["description"] = found.description
    return out


def interaction_metadata(world: World, found: Interaction) -> JSON | None:
    out: JSON = {
        "id": str(found.id),
        "type": found.type,
        "user": user(world, found.user_id),
        "authorizing_integration_owners": (
            {"0": str(found.guild_id)} if found.guild_id is not None else {"1": str(found.user_id)}
        ),
    }
    if found.original_message_id is not None:
        out["original_response_message_id"] = str(found.original_message_id)
    if found.type == 2:
        return out
    if found.type == 3 and found.source_message_id is not None:
        return out | {"interacted_message_id": str(found.source_message_id)}
    # Modal submits would need the metadata of the interaction that opened the modal,
    # which the stand-in does not track; the field is optional, so leave it out.
    return None


def message(world: World, found: Message) -> JSON:
    out: JSON = {
        "type": found.type,
        "content": found.content,
        "mentions": [user(world, u) for u in found.mention_user_ids],
        "mention_roles": [str(r) for r in found.mention_role_ids],
        "attachments": [attachment(world, a, found.channel_id) for a in found.attachments],
        "embeds": found.embeds,
        "timestamp": found.timestamp,
        "edited_timestamp": found.edited_timestamp,
        "flags": found.flags,
        "components": found.components,
        "id": str(found.id),
        "channel_id": str(found.channel_id),
        "author": user(world, found.author_id),
        "pinned": found.pinned_at is not None,
        "mention_everyone": found.mention_everyone,
        "tts": found.tts,
    }
    if found.application_id is not None:
        out["application_id"] = str(found.application_id)
    if found.webhook_id is not None:
        out["webhook_id"] = str(found.webhook_id)
    if found.reference is not None:
        out["message_reference"] = found.reference
    if found.interaction_id is not None and found.interaction_id in world.interactions:
        meta = interaction_metadata(world, world.interactions[found.interaction_id])
        if meta is not None:
            out["interaction_metadata"] = meta
    return out


def command(found: Command) -> JSON:
    body = found.body
    out: JSON = {
        "id": str(found.id),
        "application_id": str(found.application_id),
        "version": str(found.version),
        "default_member_permissions": body.get("default_member_permissions"),
        "type": found.type,
        "name": found.name,
        "name_localizations": body.get("name_localizations"),
        "description": body.get("description", ""),
        "description_localizations": body.get("description_localizations"),
        "dm_permission": body.get("dm_permission", True),
        "contexts": body.get("contexts"),
        "integration_types": body.get("integration_types", [0]),
        "nsfw": body.get("nsfw", False),
    }
    if found.guild_id is not None:
        out["guild_id"] = str(found.guild_id)
    if body.get("options"):
        out["options"] = body["options"]
    return out


def application(world: World, app: App) -> JSON:
    return {
        "id": str(app.id),
        "name": app.name,
        "icon": None,
        "description": "",
        "type": None,
        "bot": user(world, app.bot_user.id),
        "bot_public": True,
        "bot_require_code_grant": False,
        "verify_key": app.verify_key,
        "flags": app.flags,
        "flags_new": str(app.flags),
        "redirect_uris": [],
        "interactions_endpoint_url": app.interactions_endpoint_url,
        "role_connections_verification_url": None,
        "owner": user(world, app.owner_id),
        "approximate_guild_count": sum(1 for g in world.guilds.values() if app.id in g.app_ids),
        "approximate_user_install_count": 0,
        "approximate_user_authorization_count": 0,
        "explicit_content_filter": 0,
        "team": None,
        "eligible_oauth2_scopes": ["bot", "applications.commands"],
    }


def event_data(world: World, event: str, record: Any) -> JSON:
    """Gateway ``d`` for a state change announced by the world."""
    if isinstance(record, Channel):
        if event == "CHANNEL_PINS_UPDATE":
            return {
                "channel_id": str(record.id),
                "guild_id": sid(record.guild_id),
                "last_pin_timestamp": record.last_pin_timestamp,
            }
        if event == "THREAD_DELETE":
            return {
                "id": str(record.id),
                "guild_id": str(record.guild_id),
                "parent_id": sid(record.parent_id),
                "type": record.type,
            }
        rendered = channel(world, record)
        if event == "THREAD_CREATE":
            rendered["newly_created"] = True
        return rendered
    if isinstance(record, Message):
        if event == "MESSAGE_DELETE":
            out: JSON = {"id": str(record.id), "channel_id": str(record.channel_id)}
        else:
            out = message(world, record)
        if record.guild_id is not None:
            out["guild_id"] = str(record.guild_id)
            author = world.guilds[record.guild_id].members.get(record.author_id)
            if author is not None and event != "MESSAGE_DELETE" and record.webhook_id is None:
                out["member"] = member(world, author, with_user=False)
        return out
    if isinstance(record, JoinedThread):
        return thread(world, record.thread)
    if isinstance(record, BulkDelete):
        out = {"ids": [str(i) for i in record.ids], "channel_id": str(record.channel_id)}
        if record.guild_id is not None:
            out["guild_id"] = str(record.guild_id)
        return out
    if isinstance(record, ThreadMembersChange):
        found = world.channels[record.thread_id]
        added = []
        for user_id in record.added:
            item = thread_member(found, user_id)
            guild_member = world.guilds[record.guild_id].members.get(user_id)
            if guild_member is not None:
                item["member"] = member(world, guild_member)
            added.append(item)
        out = {
            "id": str(record.thread_id),
            "guild_id": str(record.guild_id),
            "member_count": min(len(found.thread_members), 50),
        }
        if added:
            out["added_members"] = added
        if record.removed:
            out["removed_member_ids"] = [str(u) for u in record.removed]
        return out
    if isinstance(record, PresenceChange):
        return presence(record.guild_id, record.user_id, record.status)
    if isinstance(record, MemberLeft):
        return {"guild_id": str(record.guild_id), "user": user(world, record.user_id)}
    if isinstance(record, Role):
        return {"guild_id": str(record.guild_id), "role": role(record)}
    if isinstance(record, Member):
        return member(world, record) | {"guild_id": str(record.guild_id)}
    if isinstance(record, Guild):
        return guild_create(world, record)
    raise TypeError(f"no gateway rendering for {type(record).__name__} ({event})")


def interaction_channel(world: World, found: Channel, user_id: int) -> JSON:
    """The partial channel interactions carry, with the invoking user's permissions."""
    out = channel(world, found)
    if found.guild_id is not None:
        out["permissions"] = str(world.permissions(found.guild_id, user_id, found.id))
    return out


def resolved_member(world: World, guild_id: int, user_id: int, channel_id: int) -> JSON:
    found = world.guilds[guild_id].members[user_id]
    return member(world, found, with_user=False) | {
        "permissions": str(world.permissions(guild_id, user_id, channel_id)),
    }
