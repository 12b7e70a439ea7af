"""Object keys: ``/``-separated relative names that cannot climb out of a root."""

from __future__ import annotations

from storage.ports import InvalidKey

MAX_KEY_LENGTH = 512

# Reserved because FileStore keeps its temp files and content-type sidecars
# next to the objects; refusing them everywhere keeps every store's key space equal.
TEMP_PREFIX = ".tmp-"
META_SUFFIX = ".meta.json"


def validate_key(key: str) -> str:
    """Return ``key`` unchanged when it is a safe object key; raise InvalidKey otherwise."""
    if not isinstance(key, str):
        raise InvalidKey(f"object key must be a string, got {type(key).__name__}")
    if not key:
        raise InvalidKey("object key must not be empty")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidKey(f"object key is {len(key)} characters long (at most {MAX_KEY_LENGTH})")
    if "\x00" in key:
        raise InvalidKey(f"object key {key!r} contains a NUL byte")
    if "\\" in key:
        raise InvalidKey(f"object key {key!r} contains a backslash; use '/' between parts")
    if key.startswith("/"):
        raise InvalidKey(f"object key {key!r} must be relative (no leading '/')")
    for segment in key.split("/"):
        if segment in ("", ".", ".."):
            raise InvalidKey(
                f"object key {key!r} has an empty, '.' or '..' part; "
                "parts are separated by single '/'"
            )
        if segment.startswith(TEMP_PREFIX) or segment.endswith(META_SUFFIX):
            raise InvalidKey(
                f"object key {key!r} uses a reserved name "
                f"(parts may not start with {TEMP_PREFIX!r} or end with {META_SUFFIX!r})"
            )
    return key
