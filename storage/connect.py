"""Pick the object store named by a URL, and check such URLs for people."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote, urlsplit

import msgspec

from storage.file import FileStore
from storage.keys import validate_key
from storage.memory import MemoryStore
from storage.ports import InvalidKey, ObjectStore, StorageError
from storage.requests import MIN_PART_SIZE, MiB

SCHEMES = ("file", "memory", "s3")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_REGION = re.compile(r"[a-z0-9-]{1,32}")
_PART_SIZE = re.compile(r"(\d+)\s*(MiB)?")
_TRUE, _FALSE = {"true", "1", "yes"}, {"false", "0", "no"}


class StoreURL(msgspec.Struct, frozen=True, kw_only=True):
    """A checked store URL, taken apart."""

    scheme: str
    path: str | None = None  # file://
    bucket: str = ""  # s3://bucket/prefix
    prefix: str = ""
    endpoint: str | None = None
    region: str | None = None
    path_style: bool = False
    part_size: int | None = None


def _s3_url(url: str) -> StoreURL:
    parts = urlsplit(url)
    bucket = parts.netloc
    if not _BUCKET.fullmatch(bucket) or ".." in bucket:
        raise ValueError(
            f"S3 URL {url!r}: {bucket!r} is not a bucket name "
            "(3-63 characters: lowercase letters, digits, '.' and '-')"
        )
    prefix = unquote(parts.path).strip("/")
    if prefix:
        try:
            validate_key(prefix)
        except InvalidKey as exc:
            raise ValueError(f"S3 URL {url!r}: the key prefix is unusable: {exc}") from None
    options: dict[str, str] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name not in {"endpoint", "region", "path_style", "part_size"}:
            raise ValueError(
                f"S3 URL {url!r}: unknown option {name!r} "
                "(known: endpoint, region, path_style, part_size)"
            )
        options[name] = value
    endpoint = options.get("endpoint") or None
    if endpoint is not None:
        target = urlsplit(endpoint)
        if target.scheme not in {"http", "https"} or not target.netloc:
            raise ValueError(
                f"S3 URL {url!r}: endpoint {endpoint!r} must be an http:// or https:// URL"
            )
    region = options.get("region") or None
    if region is not None and not _REGION.fullmatch(region):
        raise ValueError(f"S3 URL {url!r}: {region!r} is not a region name (like us-east-1)")
    path_style = options.get("path_style", "false").lower()
    if path_style not in _TRUE | _FALSE:
        raise ValueError(f"S3 URL {url!r}: path_style must be true or false, not {path_style!r}")
    part_size: int | None = None
    if "part_size" in options:
        match = _PART_SIZE.fullmatch(options["part_size"])
        part_size = int(match[1]) * (MiB if match[2] else 1) if match else None
        if part_size is None or part_size < MIN_PART_SIZE:
            raise ValueError(
                f"S3 URL {url!r}: part_size must be a byte count of at least "
                f"{MIN_PART_SIZE} (or e.g. 8MiB), not {options['part_size']!r}"
            )
    return StoreURL(
        scheme="s3",
        bucket=bucket,
        prefix=prefix,
        endpoint=endpoint,
        region=region,
        path_style=path_style in _TRUE,
        part_size=part_size,
    )


def parse_store_url(url: str) -> StoreURL:
    """Check a store URL and take it apart.

    Raises ValueError with a message for a person when the URL is unusable.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "file":
        # The "host" of file://data/objects is the first folder of a relative path.
        path = unquote(parts.netloc + parts.path)
        if not path:
            raise ValueError(f"file store URL {url!r} names no folder")
        return StoreURL(scheme="file", path=path)
    if scheme == "memory":
        return StoreURL(scheme="memory")
    if scheme == "s3":
        return _s3_url(url)
    raise ValueError(
        f"unsupported object store URL scheme {scheme!r} in {url!r} "
        f"(expected one of {', '.join(s + '://' for s in SCHEMES)})"
    )


def store_path(url: str) -> str | None:
    """The folder of a ``file://`` URL, None for other schemes; ValueError if unusable."""
    return parse_store_url(url).path


def open_store(
    url: str, *, access_key_id: str | None = None, secret_access_key: str | None = None
) -> ObjectStore:
    """Open the store for ``url``.

    ``file://data/objects`` is the relative folder ``data/objects``,
    ``file:///srv/objects`` an absolute one; ``memory://`` keeps objects in
    memory; ``s3://bucket/prefix?endpoint=…&region=…&path_style=true`` is a
    bucket on S3 or a compatible server (credentials: the arguments, else the
    AWS_* environment).
    """
    parsed = parse_store_url(url)
    if parsed.scheme == "memory":
        return MemoryStore()
    if parsed.scheme == "file":
        assert parsed.path is not None
        return FileStore(parsed.path)
    try:
        from storage.s3 import S3Store
    except ImportError as exc:
        raise StorageError(
            f"{url!r} needs the S3 client: pip install 'tickets-standalone[s3]' ({exc})"
        ) from None
    options = {} if parsed.part_size is None else {"part_size": parsed.part_size}
    return S3Store(
        parsed.bucket,
        prefix=parsed.prefix,
        endpoint=parsed.endpoint,
        region=parsed.region,
        path_style=parsed.path_style,
        access_key_id=access_key_id or None,
        secret_access_key=secret_access_key or None,
        **options,
    )
