"""Every coordination key, stream, group and lease name, and every storage key.

Coordination names are scoped by tenant so one bot's events and state can never
be read through another's names; storage keys are relative to a tenant's
``ScopedStore``.
"""

from __future__ import annotations

PREFIX = "tickets"

WORKER_GROUP = "workers"


def events(tenant: str) -> str:
    """The stream of gateway events for one tenant."""
    return f"{PREFIX}:{tenant}:events"


def streams_kept(tenant: str) -> str:
    """A one-entry stream a start writes: missing at the next start, the backend lost its
    streams (an in-process stand-in without a file, a wiped server), events included."""
    return f"{PREFIX}:{tenant}:streams-kept"


def dead_letters(tenant: str) -> str:
    """Events that failed too often to keep retrying."""
    return f"{PREFIX}:{tenant}:events:dead"


def guild(tenant: str, guild_id: int) -> str:
    """The last GUILD_CREATE payload the gateway saw for a guild."""
    return f"{PREFIX}:{tenant}:guild:{guild_id}"


def shard_lease(tenant: str, shard: int) -> str:
    """The lease that makes one gateway the owner of a shard."""
    return f"{PREFIX}:{tenant}:shard:{shard}"


def shard_session(tenant: str, shard: int) -> str:
    """A shard's gateway session (id, sequence, resume URL), so a takeover can RESUME it."""
    return f"{PREFIX}:{tenant}:shard-session:{shard}"


def identify_bucket(tenant: str, bucket: int) -> str:
    """Counts IDENTIFYs of one ``max_concurrency`` bucket (one per 5 s), across instances."""
    return f"{PREFIX}:{tenant}:identify:{bucket}"


def session_starts(tenant: str) -> str:
    """IDENTIFYs made since Discord last reported ``session_start_limit``, across instances."""
    return f"{PREFIX}:{tenant}:session-starts"


def session_budget(tenant: str) -> str:
    """``session_start_limit.remaining`` as the first instance of the window saw it."""
    return f"{PREFIX}:{tenant}:session-budget"


def gateway_drain(instance: str) -> str:
    """The pub/sub channel on which one gateway instance is asked to hand its shards over."""
    return f"{PREFIX}:gateway:drain:{instance}"


def scheduler_lease(tenant: str) -> str:
    """The lease that makes one scheduler the one firing a tenant's timers."""
    return f"{PREFIX}:{tenant}:scheduler"


def admin_roles(tenant: str, guild_id: str) -> str:
    """Cached ids of a guild's roles with Administrator or Manage Server."""
    return f"{PREFIX}:{tenant}:admin-roles:{guild_id}"


def open_lock(tenant: str, guild_id: int, category: str) -> str:
    """Held while one ticket of a category is checked and recorded, across processes."""
    return f"{PREFIX}:{tenant}:open-lock:{guild_id}:{category}"


def open_pause(tenant: str, guild_id: int, user_id: int) -> str:
    """A few seconds between two ticket starts of one member (anti-spam)."""
    return f"{PREFIX}:{tenant}:open-pause:{guild_id}:{user_id}"


def offered_message(tenant: str, guild_id: str, user_id: int, message_id: int) -> str:
    """A message Discord showed a member "Create ticket from message" on (so they can see it)."""
    return f"{PREFIX}:{tenant}:offered-message:{guild_id}:{user_id}:{message_id}"


def handled_interaction(tenant: str, interaction_id: int) -> str:
    """Marks an interaction whose handler finished, so a redelivery skips it."""
    return f"{PREFIX}:{tenant}:handled:{interaction_id}"


def transcript(guild_id: str, number: int) -> str:
    """Where a ticket's transcript is stored, within its tenant's storage."""
    return f"transcripts/{guild_id}/{number}.html"


def transcript_text(guild_id: str, number: int) -> str:
    """Where a ticket's plain-text transcript is stored, within its tenant's storage."""
    return f"transcripts/{guild_id}/{number}.txt"


# Areas of a tenant's storage whose keys are ``<area>/<guild id>/<name>``: what a
# guild export takes along (standalone/portability).
GUILD_OBJECT_AREAS = ("transcripts",)


def guild_objects(area: str, guild_id: str) -> str:
    """The prefix of one guild's objects in an area, within its tenant's storage."""
    return f"{area}/{guild_id}/"


def reopened_by(tenant: str, guild_id: str, number: int) -> str:
    """The interaction that last reopened a ticket, so its redelivery can finish it."""
    return f"{PREFIX}:{tenant}:reopened-by:{guild_id}:{number}"


def close_feedback(tenant: str, guild_id: str, number: int, user_id: str) -> str:
    """What a member asked for (close, or accept, and the reason) while the form is shown."""
    return f"{PREFIX}:{tenant}:close-feedback:{guild_id}:{number}:{user_id}"


def force_close(tenant: str, key: str) -> str:
    """Tickets a bulk /force-close listed, waiting for Confirm."""
    return f"{PREFIX}:{tenant}:force-close:{key}"


def close_lock(tenant: str, guild_id: str, number: int) -> str:
    """Held while one process runs a ticket's final close (transcript, DM, log entry)."""
    return f"{PREFIX}:{tenant}:close-lock:{guild_id}:{number}"


def reconcile_lock(tenant: str) -> str:
    """Held by the one process that reconciles a tenant's tickets with Discord at start."""
    return f"{PREFIX}:{tenant}:reconcile-lock"


def question_lock(tenant: str, guild_id: str, category: str) -> str:
    """Held while one question of a category is counted and saved, across processes."""
    return f"{PREFIX}:{tenant}:question-lock:{guild_id}:{category}"


def category_lock(tenant: str, guild_id: str) -> str:
    """Held while a server's categories are counted and one is added, across processes."""
    return f"{PREFIX}:{tenant}:category-lock:{guild_id}"


def rest_route(tenant: str, route_id: str) -> str:
    """The rate-limit bucket Discord named for a route, learnt from its headers."""
    return f"{PREFIX}:{tenant}:rest:route:{route_id}"


def rest_bucket(tenant: str, bucket: str) -> str:
    """A bucket's limit and window, learnt from Discord's headers."""
    return f"{PREFIX}:{tenant}:rest:bucket:{bucket}"


def rest_hits(tenant: str, bucket: str, major_id: str) -> str:
    """The sliding-window count of calls to one bucket for one major parameter."""
    return f"{PREFIX}:{tenant}:rest:hits:{bucket}:{major_id}"


def rest_block(tenant: str, bucket: str, major_id: str) -> str:
    """Set until a bucket may be called again (an exhausted bucket or a 429)."""
    return f"{PREFIX}:{tenant}:rest:block:{bucket}:{major_id}"


def rest_probe(tenant: str, route_id: str, major_id: str) -> str:
    """Held by the one call that learns an unknown route's bucket; the others wait."""
    return f"{PREFIX}:{tenant}:rest:probe:{route_id}:{major_id}"


def rest_global(tenant: str) -> str:
    """The sliding-window count of a bot's calls under Discord's global limit."""
    return f"{PREFIX}:{tenant}:rest:global"


def rest_global_block(tenant: str) -> str:
    """Set until a bot may call again after a global 429."""
    return f"{PREFIX}:{tenant}:rest:global-block"


def http_interaction(tenant: str, interaction_id: int) -> str:
    """Set while the HTTP ingress holds Discord's request open for a worker's answer."""
    return f"{PREFIX}:{tenant}:http-interaction:{interaction_id}"


def interaction_answer(tenant: str, interaction_id: int) -> str:
    """The channel a worker's interaction response travels on to the waiting ingress."""
    return f"{PREFIX}:{tenant}:interaction-answer:{interaction_id}"


def interaction_answered(tenant: str, interaction_id: int) -> str:
    """The ingress says here that it has written the relayed answer to Discord."""
    return f"{PREFIX}:{tenant}:interaction-answered:{interaction_id}"


def health_probe() -> str:
    """A cache key /readyz reads to see that the coordination server answers."""
    return f"{PREFIX}:health-probe"


def health_object() -> str:
    """A storage key /readyz looks up (never written) to see that storage answers."""
    return "_health/probe"


def portability_lock(tenant: str, guild_id: str) -> str:
    """Held while one export or import of a guild runs from the API (one at a time)."""
    return f"{PREFIX}:{tenant}:portability-lock:{guild_id}"


def portability_progress(tenant: str, guild_id: str) -> str:
    """How far the guild's running export or import is, for whoever asks."""
    return f"{PREFIX}:{tenant}:portability-progress:{guild_id}"


def ticket_edit_lock(tenant: str, guild_id: str, number: int) -> str:
    """Held while a staff tool (/add, /move, /priority…) changes one ticket, across processes."""
    return f"{PREFIX}:{tenant}:ticket-edit-lock:{guild_id}:{number}"


def channel_renames(tenant: str, channel_id: str) -> str:
    """When the bot last renamed a channel (Discord allows two renames per ten minutes)."""
    return f"{PREFIX}:{tenant}:channel-renames:{channel_id}"


def staff_change(tenant: str, interaction_id: int) -> str:
    """The ticket as it was before a staff tool's interaction changed it, for its redelivery."""
    return f"{PREFIX}:{tenant}:staff-change:{interaction_id}"


# Opening notices, presences and live figures (standalone/tickets/notices.py,
# standalone/services/member_presences.py, standalone/services/bot_presence.py).


def channel_parents(tenant: str, guild_id: str) -> str:
    """A guild's channels that sit in a Discord category, by id, with the category's id."""
    return f"{PREFIX}:{tenant}:channel-parents:{guild_id}"


def presence_generation(tenant: str, guild_id: str) -> str:
    """The GUILD_CREATE a guild's presences were last read from; absent: no presence data."""
    return f"{PREFIX}:{tenant}:presence-gen:{guild_id}"


def presence(tenant: str, guild_id: str, user_id: str) -> str:
    """``<generation>:<status>`` of one member, from GUILD_CREATE or PRESENCE_UPDATE."""
    return f"{PREFIX}:{tenant}:presence:{guild_id}:{user_id}"


def staff_offline_notice(tenant: str, channel_id: str) -> str:
    """Set for an hour after a ticket channel was told no staff is online."""
    return f"{PREFIX}:{tenant}:staff-offline:{channel_id}"


def staff_offline_claim(tenant: str, channel_id: str, previous: str) -> str:
    """Taken by the one worker that replaces the notice stamp ``previous`` with a new one."""
    return f"{PREFIX}:{tenant}:staff-offline-claim:{channel_id}:{previous}"


def staff_seen_online(tenant: str, channel_id: str) -> str:
    """Set for a few minutes after staff of a ticket was seen online (saves member lists)."""
    return f"{PREFIX}:{tenant}:staff-online:{channel_id}"


def hours_notice(tenant: str, channel_id: str) -> str:
    """Marks the "we are not working now" notice of a ticket as posted (redelivery)."""
    return f"{PREFIX}:{tenant}:hours-notice:{channel_id}"


def category_figures(tenant: str, guild_id: str, category: str) -> str:
    """A category's average response, resolution and rating, cached for an hour."""
    return f"{PREFIX}:{tenant}:figures:{guild_id}:{category}"


def bot_figures(tenant: str) -> str:
    """A tenant's ticket counts and averages for its rotating activity, cached."""
    return f"{PREFIX}:{tenant}:bot-figures"


def shard_guilds(tenant: str, shard: int) -> str:
    """How many guilds one shard's owner saw the bot in (for the {guilds} placeholder)."""
    return f"{PREFIX}:{tenant}:shard-guilds:{shard}"


def tenant_pattern(tenant: str) -> str:
    """A glob matching every coordination key of one tenant (to clean up after a benchmark)."""
    return f"{PREFIX}:{tenant}:*"


def auto_reply(tenant: str, message_id: str) -> str:
    """Set once a tag auto-replied to a message, so a redelivery does not reply again."""
    return f"{PREFIX}:{tenant}:auto-reply:{message_id}"


def auto_reply_lock(tenant: str, message_id: str) -> str:
    """Held while deciding on and posting the auto-reply to one message."""
    return f"{PREFIX}:{tenant}:auto-reply-lock:{message_id}"


def log_entry(tenant: str, guild_id: str, fingerprint: str) -> str:
    """The log channel message an event was posted as, so a redelivery posts no second one."""
    return f"{PREFIX}:{tenant}:log-entry:{guild_id}:{fingerprint}"


def log_entry_lock(tenant: str, guild_id: str, fingerprint: str) -> str:
    """Held while one delivery posts a log entry, so two at once cannot both post it."""
    return f"{PREFIX}:{tenant}:log-entry-lock:{guild_id}:{fingerprint}"


def stats(tenant: str, guild_id: str, scope: str) -> str:
    """Statistics of a guild (one category, one member, one window), cached briefly."""
    return f"{PREFIX}:{tenant}:stats:{guild_id}:{scope}"
