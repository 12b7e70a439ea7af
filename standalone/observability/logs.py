"""Logging for every entry point: JSON lines for machines, coloured lines for people.

On a terminal, lines are readable and coloured; anywhere else (a pipe, a file,
journald, a container log) each line is one JSON object. Every line carries the
tenant, guild, ticket and trace ids in force when it was logged (see
``context``), and passes through ``redact`` on its way out.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal, TextIO

import msgspec

from standalone.observability import context
from standalone.observability.redact import redact, register_secret
from standalone.tracing import current as current_trace

if TYPE_CHECKING:
    from standalone.config import Config

Format = Literal["auto", "json", "pretty"]
FORMATS: tuple[str, ...] = ("auto", "json", "pretty")
_OURS = "_tickets_handler"

# Loggers that say too much at DEBUG: disnake.http logs every request body there,
# which holds message content.
_QUIET_BELOW_INFO = ("disnake.http", "disnake.gateway", "disnake.webhook")


class LogLine(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One JSON log line. The id fields are always present (null when unknown)."""

    ts: str
    level: str
    logger: str
    msg: str
    tenant: str | None
    guild: str | None
    ticket: str | None
    trace_id: str | None
    span_id: str | None
    exc: str | None = None


class ContextFilter(logging.Filter):
    """Stamps the ids in force onto the record and blanks secrets out of its text.

    Runs on the handler, so records of every library pass it; the message is
    rendered here once, redacted, and the arguments dropped.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        ids = context.Ids()
        record.tenant = ids.tenant
        record.guild = ids.guild
        record.ticket = ids.ticket
        record.trace_id = ids.trace_id
        record.span_id = ids.span_id
        # Kept for format strings of earlier releases.
        record.traceparent = current_trace.get()
        record.msg = redact(record.getMessage())
        record.args = None
        # Rendered again even when another handler cached it unredacted.
        if record.exc_info:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def _iso(created: float) -> str:
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")


class JsonFormatter(logging.Formatter):
    """One JSON object per line (msgspec), for log collectors."""

    _encoder = msgspec.json.Encoder()

    def format(self, record: logging.LogRecord) -> str:
        exc = record.exc_text or None
        if exc is None and record.exc_info:
            exc = redact(self.formatException(record.exc_info))
        line = LogLine(
            ts=_iso(record.created),
            level=record.levelname,
            logger=record.name,
            msg=record.getMessage(),
            tenant=getattr(record, "tenant", "") or None,
            guild=getattr(record, "guild", "") or None,
            ticket=getattr(record, "ticket", "") or None,
            trace_id=getattr(record, "trace_id", "") or None,
            span_id=getattr(record, "span_id", "") or None,
            exc=exc,
        )
        return self._encoder.encode(line).decode()


_COLOURS = {
    "DEBUG": "\x1b[2m",
    "INFO": "\x1b[32m",
    "WARNING": "\x1b[33m",
    "ERROR": "\x1b[31m",
    "CRITICAL": "\x1b[1;31m",
}
_RESET = "\x1b[0m"
_DIM = "\x1b[2m"


class PrettyFormatter(logging.Formatter):
    """``12:00:01.234 INFO  logger [tenant guild #ticket trace]: message``, coloured or not."""

    def __init__(self, *, colour: bool) -> None:
        super().__init__()
        self.colour = colour

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created).strftime("%H:%M:%S.%f")[:-3]
        ids = [
            getattr(record, "tenant", ""),
            getattr(record, "guild", ""),
            f"#{getattr(record, 'ticket', '')}" if getattr(record, "ticket", "") else "",
            str(getattr(record, "trace_id", ""))[:8],
        ]
        where = " ".join(i for i in ids if i)
        level = f"{record.levelname:<7}"
        head = f"{stamp} {level} {record.name}"
        if self.colour:
            level = f"{_COLOURS.get(record.levelname, '')}{level}{_RESET}"
            head = f"{_DIM}{stamp}{_RESET} {level} {_DIM}{record.name}{_RESET}"
        message = record.getMessage()
        text = f"{head} [{where}]: {message}" if where else f"{head}: {message}"
        exc = record.exc_text or (
            redact(self.formatException(record.exc_info)) if record.exc_info else ""
        )
        return f"{text}\n{exc}" if exc else text


def use_json(fmt: str, stream: TextIO) -> bool:
    """Whether ``fmt`` means JSON on ``stream``: ``auto`` is JSON unless it is a terminal."""
    if fmt == "json":
        return True
    if fmt == "pretty":
        return False
    isatty = getattr(stream, "isatty", None)
    return not (isatty is not None and isatty())


def setup_logging(level: str = "INFO", fmt: str = "auto", stream: TextIO | None = None) -> None:
    """Configure the root logger for this process; replaces whatever was set before."""
    out = stream if stream is not None else sys.stderr
    handler = logging.StreamHandler(out)
    handler.addFilter(ContextFilter())
    if use_json(fmt, out):
        handler.setFormatter(JsonFormatter())
    else:
        isatty = getattr(out, "isatty", None)
        handler.setFormatter(PrettyFormatter(colour=isatty is not None and isatty()))
    root = logging.getLogger()
    # Only a handler of an earlier call is replaced: others (a test runner's
    # capture, say) are not ours to remove.
    for old in [h for h in root.handlers if getattr(h, _OURS, False)]:
        root.removeHandler(old)
        old.close()
    setattr(handler, _OURS, True)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # The bot has no voice; disnake's notice about missing voice libraries is noise.
    logging.getLogger("disnake.client").setLevel(logging.ERROR)
    for name in _QUIET_BELOW_INFO:
        logger = logging.getLogger(name)
        logger.setLevel(max(logging.INFO, root.level))


def configure_logging(config: Config) -> None:
    """``setup_logging`` as ``config.logging`` says, with the configured secrets kept out."""
    register_secret(
        config.discord.token,
        config.database.password,
        config.storage.secret_access_key,
        config.interceptor.secret,
    )
    setup_logging(config.logging.level, config.logging.format)
