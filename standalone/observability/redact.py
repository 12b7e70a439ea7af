"""What must never reach a log: tokens, credentials, secrets.

Known secrets (each tenant's bot token, the configured passwords) are replaced
wherever they appear; shapes catch the unknown ones: token-like strings,
``Bot``/``Bearer`` credentials, Authorization headers, and the interaction or
webhook token inside a REST URL. Message content is kept out at the source
(nothing logs it, and disnake's request-body debug lines are off); see
docs/observability.md.
"""

from __future__ import annotations

import re
import threading

REDACTED = "[redacted]"
# A bot token: base64 of the bot's id, a timestamp and an HMAC, dot-separated.
# JWT-shaped strings match too, which is wanted.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{18,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{20,}")
_CREDENTIAL = re.compile(r"\b(Bot|Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}")
_AUTH_HEADER = re.compile(
    r"""(?i)(["']?(?:authorization|x-[a-z-]*secret|x-[a-z-]*token|cookie)["']?\s*[:=]\s*)"""
    r"""(["']?)(?:(?:Bot|Bearer|Basic)\s+)?[^"'\s,}]+"""
)
# /interactions/{id}/{token}/callback and /webhooks/{application}/{token}/...
_URL_TOKEN = re.compile(r"(/(?:interactions|webhooks)/\d+/)[^/\s?\"']+")
_MIN_SECRET = 6  # shorter values would blank out ordinary words

_lock = threading.Lock()
_secrets: frozenset[str] = frozenset()


def register_secret(*values: str) -> None:
    """Blank these values out of every later log line (tokens, passwords)."""
    global _secrets
    found = {value.strip() for value in values if len(value.strip()) >= _MIN_SECRET}
    if not found - _secrets:
        return
    with _lock:
        _secrets = _secrets | found


def redact(text: str) -> str:
    """``text`` with every secret it holds replaced by ``[redacted]``."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    text = _URL_TOKEN.sub(rf"\g<1>{REDACTED}", text)
    text = _AUTH_HEADER.sub(rf"\g<1>\g<2>{REDACTED}", text)
    text = _CREDENTIAL.sub(rf"\g<1> {REDACTED}", text)
    return _TOKEN.sub(REDACTED, text)
