"""The log setup every entry point uses: JSON off a terminal, pretty on one, ids, redaction."""

from __future__ import annotations

import io
import logging
import os

import msgspec
import pytest

from emulation.discord.state import World
from standalone.observability import context
from standalone.observability.logs import setup_logging
from standalone.observability.redact import REDACTED, redact, register_secret
from standalone.tracing import new_traceparent

log = logging.getLogger("tests.observability")


@pytest.fixture
def restore_root():
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


def lines(stream: io.StringIO) -> list[dict]:
    return [msgspec.json.decode(line) for line in stream.getvalue().splitlines()]


def test_off_a_terminal_every_line_is_json_with_the_ids_in_force(restore_root):
    out = io.StringIO()
    setup_logging("DEBUG", stream=out)
    log.info("outside any event")
    trace = new_traceparent()
    with context.bound(tenant_name="acme", guild_id="111", ticket_id="", traceparent=trace):
        log.debug("event taken")
        context.note_ticket("111", 7)
        log.warning("ticket found: %s", "later lines name it")
    log.info("after the event")

    first, taken, found, after = lines(out)
    assert first["msg"] == "outside any event" and first["level"] == "INFO"
    for key in ("tenant", "guild", "ticket", "trace_id", "span_id"):
        assert key in first and first[key] is None  # present, unknown
    assert taken["tenant"] == "acme" and taken["guild"] == "111" and taken["ticket"] is None
    assert taken["trace_id"] == trace.split("-")[1] and taken["span_id"] == trace.split("-")[2]
    assert found["ticket"] == "7" and found["msg"] == "ticket found: later lines name it"
    assert after["tenant"] is None and after["ticket"] is None and after["trace_id"] is None
    assert first["logger"] == "tests.observability" and first["ts"].endswith("+00:00")


def test_on_a_terminal_lines_are_coloured_and_readable(restore_root):
    leader, follower = os.openpty()
    with os.fdopen(follower, "w") as tty:
        setup_logging("INFO", stream=tty)
        with context.bound(tenant_name="acme", guild_id="111", ticket_id="3"):
            log.error("printer on fire")
        tty.flush()
        text = os.read(leader, 4096).decode()
    os.close(leader)
    assert "\x1b[31m" in text  # ERROR in red
    assert "acme 111 #3" in text and "printer on fire" in text
    assert not text.lstrip().startswith("{")


def test_a_second_setup_replaces_the_first_and_keeps_foreign_handlers(restore_root):
    foreign = logging.NullHandler()
    logging.getLogger().addHandler(foreign)
    first, second = io.StringIO(), io.StringIO()
    setup_logging("INFO", fmt="json", stream=first)
    setup_logging("INFO", fmt="pretty", stream=second)
    log.info("once")
    assert first.getvalue() == "" and "once" in second.getvalue()
    assert foreign in logging.getLogger().handlers
    logging.getLogger().removeHandler(foreign)


def test_disnake_request_bodies_stay_out_even_at_debug(restore_root):
    out = io.StringIO()
    setup_logging("DEBUG", fmt="json", stream=out)
    # disnake.http logs every request body (message content) at DEBUG.
    logging.getLogger("disnake.http").debug("POST /channels/1/messages with {'content': 'hi'}")
    assert out.getvalue() == ""


def test_tokens_and_credentials_never_reach_a_line(restore_root):
    world = World()
    app = world.add_application(name="Tickets")
    out = io.StringIO()
    setup_logging("INFO", fmt="json", stream=out)
    log.info("token %s", app.token)
    log.info("headers %s", {"Authorization": f"Bot {app.token}"})
    log.info("POST /api/v10/interactions/123/aW50ZXJhY3Rpb246MTIz.secret-bits/callback")
    log.info("POST /api/v10/webhooks/42/abcDEF_interaction-token/messages/@original")
    try:
        raise RuntimeError(f"login failed for {app.token}")
    except RuntimeError:
        log.exception("start-up failed")
    text = out.getvalue()
    assert app.token not in text
    assert "aW50ZXJhY3Rpb246MTIz" not in text and "abcDEF_interaction-token" not in text
    assert "/interactions/123/[redacted]/callback" in text
    assert "/webhooks/42/[redacted]/messages/@original" in text
    assert text.count(REDACTED) >= 5
    exc = lines(out)[-1]["exc"]
    assert "RuntimeError: login failed for [redacted]" in exc


def test_registered_secrets_are_blanked_whatever_their_shape():
    register_secret("hunter2-database-password", "  ")
    assert redact("password is hunter2-database-password!") == f"password is {REDACTED}!"
    assert redact("Authorization: Bearer abcdefghijkl") == f"Authorization: {REDACTED}"
    assert redact("x-tickets-secret=s3cr3tvalue, next") == f"x-tickets-secret={REDACTED}, next"
    assert redact("an ordinary sentence. With dots.") == "an ordinary sentence. With dots."
