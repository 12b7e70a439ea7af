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
