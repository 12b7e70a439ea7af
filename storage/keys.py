"""Object keys: ``/``-separated relative names that cannot climb out of a root."""

from __future__ import annotations

import re

from storage.ports import InvalidKey

MAX_KEY_LENGTH = 512
# S3 refuses keys over 1024 bytes of UTF-8; 512 characters can be four times that.
MAX_KEY_BYTES = 1024

# Reserved because FileStore keeps its temp files and content-type sidecars
# next to the objects; refusing them everywhere keeps every store's key space equal.
TEMP_PREFIX = ".tmp-"
META_SUFFIX = ".meta.json"
# A file name is at most 255 bytes on every common filesystem, and a part
# names a file with the sidecar suffix appended.
MAX_PART_BYTES = 255 - len(META_SUFFIX)
# Control characters: S3 cannot list them in its XML answers, and in a file
# name or a log line they only ever deceive.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _check_text(text: str, what: str) -> int:
    """The UTF-8 length of ``text``; InvalidKey for characters no key may contain."""
    if _CONTROL.search(text):
        raise InvalidKey(f"{what} {text!r} contains a control character")
    try:
        # Lone surrogates are valid in a str but in no file name or S3 key.
        return len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidKey(f"{what} {text!r} is not valid Unicode text") from None


def validate_prefix(prefix: str, what: str = "listing prefix") -> str:
    """Return ``prefix`` unchanged when a key could contain it; raise InvalidKey otherwise.

    A prefix is any start of a key, so '', a trailing '/' or a part cut short
    are fine, and one that climbs ('../') simply matches nothing. Characters no
    key may hold are refused as they are in keys: S3 cannot even send them
    (a lone surrogate has no UTF-8), and the other stores answer alike.
    """
    if not isinstance(prefix, str):
        raise InvalidKey(f"{what} must be a string, got {type(prefix).__name__}")
    _check_text(prefix, what)
    return prefix


def validate_listing(prefix: str, start_after: str | None) -> None:
    """Check the prefix and cursor of a ``list`` call (see ``validate_prefix``)."""
    validate_prefix(prefix)
    if start_after is not None:
        validate_prefix(start_after, "start_after cursor")


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
    size = _check_text(key, "object key")
    if size > MAX_KEY_BYTES:
        raise InvalidKey(f"object key is {size} bytes long in UTF-8 (at most {MAX_KEY_BYTES})")
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
        if len(segment.encode("utf-8")) > MAX_PART_BYTES:
            raise InvalidKey(
                f"object key {key!r} has a part longer than {MAX_PART_BYTES} bytes in UTF-8"
            )
        # Lowercased: on a case-insensitive filesystem (macOS, Windows shares)
        # "x.META.JSON" would be the sidecar of "x".
        folded = segment.lower()
        if folded.startswith(TEMP_PREFIX) or folded.endswith(META_SUFFIX):
            raise InvalidKey(
                f"object key {key!r} uses a reserved name "
                f"(parts may not start with {TEMP_PREFIX!r} or end with {META_SUFFIX!r})"
            )
    return key
