"""Configuration: one TOML file plus ``TICKETS__SECTION__KEY`` environment overrides.

Defaults give the fully embedded setup under ``./data``. Every value is checked at
start; an invalid one stops start-up with a message that names the key.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import msgspec

from emulation.connect import parse_coordination_url
from emulation.memory.aof import FsyncPolicy
from standalone.db.listen import parse_listen
from standalone.presence_config import PresenceConfig
from storage.connect import parse_store_url

ENV_PREFIX = "TICKETS__"
DEFAULT_CONFIG_FILE = "tickets.toml"


class ConfigError(Exception):
    """The configuration cannot be used; the message names the key."""


def _check_scheme(key: str, url: str, allowed: tuple[str, ...]) -> None:
    scheme = urlsplit(url).scheme
    if scheme not in allowed:
        raise ValueError(
            f"{key}: unsupported URL scheme {scheme!r} in {url!r} "
            f"(expected one of {', '.join(s + '://' for s in allowed)})"
        )


class DiscordConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Where Discord is; any Discord-compatible server works."""

    api_base: str = "https://discord.com/api/v10"
    # Empty: take the URL Discord returns from GET /gateway/bot.
    gateway_url: str = ""
    token: str = ""
    compress: bool = True

    def __post_init__(self) -> None:
        _check_scheme("discord.api_base", self.api_base, ("http", "https"))
        if self.gateway_url:
            _check_scheme("discord.gateway_url", self.gateway_url, ("ws", "wss"))


class DatabaseConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """SurrealDB: embedded (surrealkv://, surrealkv+versioned://, mem://) or a server (ws://).

    With ``serve`` and an embedded ``url``, ``tickets run`` also serves that
    database at ``ws://`` + ``listen`` (as ``tickets db serve`` does), so other
    local processes share it with ``url = "ws://…"``; both sides sign in with
    ``username`` and ``password``.
    """

    url: str = "surrealkv://data/db"
    namespace: str = "tickets"
    database: str = "main"
    username: str = ""
    password: str = ""
    serve: bool = False
    listen: str = ""  # host:port, for example 127.0.0.1:8000

    def __post_init__(self) -> None:
        _check_scheme(
            "database.url",
            self.url,
            ("surrealkv", "surrealkv+versioned", "mem", "memory", "ws", "wss"),
        )
        parts = urlsplit(self.url)
        if parts.scheme in ("surrealkv", "surrealkv+versioned") and not (parts.netloc + parts.path):
            raise ValueError(f"database.url: {self.url!r} names no folder for the database")
        if self.listen:
            try:
                parse_listen(self.listen)
            except ValueError as exc:
                raise ValueError(f"database.listen: {exc}") from None
        if self.serve:
            if parts.scheme in ("ws", "wss"):
                raise ValueError("database.serve: only an embedded database.url can be served here")
            if not self.listen:
                raise ValueError("database.serve: set database.listen (for example 127.0.0.1:8000)")
            if not (self.username and self.password):
                raise ValueError(
                    "database.serve: set database.username and database.password; "
                    "the server refuses anyone without them"
                )


class StorageConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Object storage for transcripts and backups: file://, memory:// or s3://.

    ``s3://bucket/prefix?endpoint=http://host:9000&region=us-east-1&path_style=true``
    reaches MinIO, Backblaze B2 or AWS; keys left empty come from the AWS_*
    environment variables (or ~/.aws, or an instance role).
    """

    url: str = "file://data/objects"
    access_key_id: str = ""
    secret_access_key: str = ""

    def __post_init__(self) -> None:
        try:
            parse_store_url(self.url)
        except ValueError as exc:
            raise ValueError(f"storage.url: {exc}") from None
        if bool(self.access_key_id) != bool(self.secret_access_key):
            raise ValueError(
                "storage.access_key_id and storage.secret_access_key must be set together"
            )


class CoordinationConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Cache, streams, leases and pub/sub: the Valkey stand-in by default.

    ``url`` is ``memory://`` (this process), ``unix:///path.sock`` (a
    ``tickets emulation serve`` shared by local processes) or ``redis://`` /
    ``valkey://`` (real Valkey). With ``serve`` and a ``unix://`` URL, ``tickets
    run`` starts that server itself, so one command still runs everything and
    other processes join through the socket. ``aof_path`` keeps streams and
    leases across restarts, for ``memory://`` or a server run here.

    The default (``memory://``, no ``aof_path``) keeps nothing across a
    restart: lease fencing tokens start at 1 again, as with a Valkey without
    persistence. That is safe only because every lease holder then runs in the
    same process and restarts with it; set ``aof_path`` once leases are shared
    with processes that outlive it.
    """

    url: str = "memory://"
    serve: bool = False
    aof_path: str = ""
    fsync: FsyncPolicy = "everysec"

    def __post_init__(self) -> None:
        try:
            target = parse_coordination_url(self.url)
        except ValueError as exc:
            raise ValueError(f"coordination.url: {exc}") from None
        if self.serve and target.kind != "unix":
            raise ValueError("coordination.serve: only a unix:// URL names a server to run here")
        if self.aof_path and not (target.kind == "memory" or self.serve):
            raise ValueError(
                "coordination.aof_path: only for memory:// or a unix:// server run here "
                "(coordination.serve = true); a separate server takes --aof"
            )


class WorkerConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """How workers consume the event stream."""

    # Entries a dead consumer held are claimed by others after this idle time.
    redeliver_after_ms: int = 30_000
    claim_interval_ms: int = 5_000
    batch: int = 16
    max_deliveries: int = 5

    def __post_init__(self) -> None:
        for name in ("redeliver_after_ms", "claim_interval_ms", "batch", "max_deliveries"):
            if getattr(self, name) <= 0:
                raise ValueError(f"worker.{name} must be greater than 0")


class SchedulerConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """How due timers (stale warnings, auto-close) are polled and fired."""

    interval_ms: int = 1_000
    # A taken timer is handed out again after this long if its job did not finish.
    hold_ms: int = 60_000
    # One scheduler per tenant fires timers; it loses the lease if it stops renewing.
    lease_ttl_ms: int = 10_000

    def __post_init__(self) -> None:
        for name in ("interval_ms", "hold_ms", "lease_ttl_ms"):
            if getattr(self, name) <= 0:
                raise ValueError(f"scheduler.{name} must be greater than 0")
        if self.lease_ttl_ms <= self.interval_ms:
            raise ValueError("scheduler.lease_ttl_ms must be longer than scheduler.interval_ms")


class GatewayConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """How gateway instances share the shards of each bot."""

    # 0: the number Discord recommends (GET /gateway/bot).
    shard_count: int = 0
    # A dead gateway's shards are taken over this long after its last renewal.
    lease_ttl_ms: int = 15_000
    # How often an instance looks for shards nobody holds.
    acquire_interval_ms: int = 1_000
    # Ask for the privileged GUILD_PRESENCES intent (turn it on in the developer portal
    # first): needed for "no staff online" notices, which are not sent without it.
    presences: bool = False

    def __post_init__(self) -> None:
        if self.shard_count < 0:
            raise ValueError("gateway.shard_count must be 0 (Discord's number) or more")
        for name in ("lease_ttl_ms", "acquire_interval_ms"):
            if getattr(self, name) <= 0:
                raise ValueError(f"gateway.{name} must be greater than 0")
        if self.lease_ttl_ms < 300:
            raise ValueError("gateway.lease_ttl_ms must be at least 300")


class SecurityConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Where the key that encrypts tokens and ticket content at rest comes from."""

    # Used when the TICKETS_SECRET_KEY environment variable is not set.
    key_file: str = "data/secret.key"


class HttpConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The ``http`` service: dashboard, JSON API, /metrics, /healthz and /readyz.

    ``public_url`` is where browsers reach it (behind a proxy, the proxy's URL);
    Discord sends people back to ``{public_url}/t/{tenant}/auth/callback``, so
    that URL must be listed as a redirect of each tenant's application. Cookies
    are marked Secure when it is https.
    """

    enabled: bool = False
    listen: str = "127.0.0.1:8169"
    public_url: str = ""  # empty: http://{listen}
    session_ttl_s: int = 7 * 24 * 3600
    max_body_bytes: int = 1024 * 1024

    def __post_init__(self) -> None:
        host, sep, port = self.listen.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError(f"http.listen: expected HOST:PORT, got {self.listen!r}")
        if self.public_url:
            _check_scheme("http.public_url", self.public_url, ("http", "https"))
            self.public_url = self.public_url.rstrip("/")
        if self.session_ttl_s <= 0 or self.max_body_bytes <= 0:
            raise ValueError("http.session_ttl_s and http.max_body_bytes must be greater than 0")

    @property
    def base_url(self) -> str:
        """The URL browsers use, without a trailing slash."""
        return self.public_url or f"http://{self.listen}"


class LoggingConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Log level and format."""

    level: str = "INFO"
    # auto: JSON lines unless stderr is a terminal; json; pretty.
    format: str = "auto"

    def __post_init__(self) -> None:
        if self.level.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError(f"logging.level: unknown level {self.level!r}")
        if self.format not in {"auto", "json", "pretty"}:
            raise ValueError(f"logging.format: auto, json or pretty, got {self.format!r}")


class MetricsConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Prometheus metrics of ``tickets run`` and ``tickets serve gateway|worker|scheduler``.

    ``listen`` (HOST:PORT) serves ``/metrics`` there; empty, none is served (the
    http service's own ``/metrics`` shows the same registry).
    """

    listen: str = ""
    # How often the event streams' length and pending count are sampled.
    sample_interval_ms: int = 5_000

    def __post_init__(self) -> None:
        if self.listen:
            try:
                parse_listen(self.listen)
            except ValueError as exc:
                raise ValueError(f"metrics.listen: {exc}") from None
        if self.sample_interval_ms <= 0:
            raise ValueError("metrics.sample_interval_ms must be greater than 0")


class TracingConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """OpenTelemetry traces (needs the ``otel`` extra): gateway → worker → REST call."""

    enabled: bool = False
    # otlp (needs opentelemetry-exporter-otlp-proto-http) or console.
    exporter: str = "otlp"
    endpoint: str = ""  # empty: the exporter's default (OTEL_EXPORTER_OTLP_ENDPOINT)
    service_name: str = "tickets"

    def __post_init__(self) -> None:
        if self.exporter not in {"otlp", "console"}:
            raise ValueError(f"tracing.exporter: otlp or console, got {self.exporter!r}")


class InterceptorConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The REST interceptor, and the rate limiter every process applies to Discord calls.

    With ``url`` set, workers send their REST calls there (with ``secret``);
    empty, each process calls ``discord.api_base`` itself through the same
    limiter, kept in the coordination backend.
    """

    url: str = ""
    secret: str = ""
    # Discord's global limit per bot; it announces no header for it.
    global_limit: int = 50
    global_window_ms: int = 1_000
    # Added to each learnt window: covers the time between admitting a call and
    # Discord receiving it.
    margin_ms: int = 250
    max_body_bytes: int = 26 * 1024 * 1024
    max_5xx_retries: int = 3
    backoff_ms: int = 500

    def __post_init__(self) -> None:
        if self.url:
            _check_scheme("interceptor.url", self.url, ("http", "https"))
            if not self.secret:
                raise ValueError("interceptor.secret must be set when interceptor.url is")
        for name in ("global_limit", "global_window_ms", "max_body_bytes"):
            if getattr(self, name) <= 0:
                raise ValueError(f"interceptor.{name} must be positive")
        for name in ("margin_ms", "max_5xx_retries", "backoff_ms"):
            if getattr(self, name) < 0:
                raise ValueError(f"interceptor.{name} must not be negative")


class Config(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The whole configuration."""

    discord: DiscordConfig = msgspec.field(default_factory=DiscordConfig)
    database: DatabaseConfig = msgspec.field(default_factory=DatabaseConfig)
    storage: StorageConfig = msgspec.field(default_factory=StorageConfig)
    coordination: CoordinationConfig = msgspec.field(default_factory=CoordinationConfig)
    worker: WorkerConfig = msgspec.field(default_factory=WorkerConfig)
    scheduler: SchedulerConfig = msgspec.field(default_factory=SchedulerConfig)
    gateway: GatewayConfig = msgspec.field(default_factory=GatewayConfig)
    security: SecurityConfig = msgspec.field(default_factory=SecurityConfig)
    http: HttpConfig = msgspec.field(default_factory=HttpConfig)
    logging: LoggingConfig = msgspec.field(default_factory=LoggingConfig)
    interceptor: InterceptorConfig = msgspec.field(default_factory=InterceptorConfig)
    presence: PresenceConfig = msgspec.field(default_factory=PresenceConfig)
    metrics: MetricsConfig = msgspec.field(default_factory=MetricsConfig)
    tracing: TracingConfig = msgspec.field(default_factory=TracingConfig)


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        path = [part.lower() for part in name[len(ENV_PREFIX) :].split("__")]
        if len(path) != 2 or not all(path):
            raise ConfigError(f"{name}: expected {ENV_PREFIX}SECTION__KEY")
        tree.setdefault(path[0], {})[path[1]] = value
    if token := environ.get("DISCORD_TOKEN"):
        tree.setdefault("discord", {}).setdefault("token", token)
    return tree


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _describe(error: msgspec.ValidationError) -> str:
    # msgspec says "... - at `$.database.url`"; people know the key as database.url.
    text = str(error)
    message, _, where = text.partition(" - at `$.")
    where = where.rstrip("`")
    unknown = re.fullmatch(r"Object contains unknown field `(.+)`", message)
    if unknown:
        key = f"{where}.{unknown[1]}" if where else unknown[1]
        return f"{key}: unknown setting"
    if not where or message.startswith(f"{where}."):
        return message
    return f"{where}: {message}"


def load_config(path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Read the TOML file (if any), apply environment overrides, validate everything."""
    environ = os.environ if environ is None else environ
    data: dict[str, Any] = {}
    file = Path(path) if path is not None else Path(DEFAULT_CONFIG_FILE)
    if path is not None and not file.exists():
        raise ConfigError(f"config file {file} does not exist")
    if file.exists():
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{file}: not valid TOML: {exc}") from None
        except UnicodeDecodeError as exc:
            raise ConfigError(
                f"{file}: not UTF-8 text (byte {exc.start}): save it as UTF-8"
            ) from None
        except OSError as exc:
            raise ConfigError(f"{file}: cannot be read: {exc.strerror or exc}") from None
    data = _merge(data, _env_overrides(environ))
    try:
        # strict=False lets environment strings become ints and bools.
        return msgspec.convert(data, Config, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
