"""The SurrealDB SDK's async clients, imported without the rest of the SDK.

``import surrealdb`` runs the package's ``__init__``, which imports every client
the SDK has: the HTTP ones (requests, urllib3, charset_normalizer and the ninety
codecs it loads) and the blocking ones. The bot uses the async embedded client
and the async ``ws://`` one; the others cost an idle ``tickets run`` about 6 MiB
of its memory (issue 9's target is 80 MB).

So the package is registered here without running its ``__init__``, and only the
submodules the bot needs are imported. The first use of a name that only the
``__init__`` defines (``surrealdb.AsyncSurreal``, ``from surrealdb import
RecordID``: tests, guild portability) runs the ``__init__`` then, and the package
is the SDK's as usual from that moment on. A process that imported ``surrealdb``
before this module keeps the package it has.
"""

from __future__ import annotations

import importlib.util
import sys
from typing import Any
from urllib.parse import urlsplit

PACKAGE = "surrealdb"


def _register_without_init() -> None:
    if PACKAGE in sys.modules:
        return
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.loader is None:
        raise ImportError(f"the SurrealDB SDK ({PACKAGE}) is not installed")
    loader = spec.loader
    package = importlib.util.module_from_spec(spec)

    def complete(name: str) -> Any:
        # Tools (inspect, pickle, pytest) look for dunders the __init__ does not
        # define either; asking for them need not load the whole SDK.
        if name.startswith("__") and name != "__all__":
            raise AttributeError(f"module {PACKAGE!r} has no attribute {name!r}")
        # Removed first: the __init__'s own imports must see the real attributes.
        vars(package).pop("__getattr__", None)
        loader.exec_module(package)
        return getattr(package, name)

    vars(package)["__getattr__"] = complete
    sys.modules[PACKAGE] = package


_register_without_init()

from surrealdb.connections.async_embedded import AsyncEmbeddedSurrealConnection  # noqa: E402
from surrealdb.connections.async_ws import AsyncWsSurrealConnection  # noqa: E402
from surrealdb.data.types.record_id import RecordID  # noqa: E402

EMBEDDED_SCHEMES = ("mem", "memory", "surrealkv", "surrealkv+versioned", "file")
SERVER_SCHEMES = ("ws", "wss")

__all__ = [
    "EMBEDDED_SCHEMES",
    "SERVER_SCHEMES",
    "AsyncEmbeddedSurrealConnection",
    "AsyncWsSurrealConnection",
    "RecordID",
    "client_for",
]


def client_for(url: str) -> Any:
    """The SDK's async client for ``url``, as ``surrealdb.AsyncSurreal(url)`` picks it."""
    scheme = urlsplit(url).scheme
    if scheme in EMBEDDED_SCHEMES:
        return AsyncEmbeddedSurrealConnection(url=url)
    if scheme in SERVER_SCHEMES:
        return AsyncWsSurrealConnection(url=url)
    # http(s):// and what the SDK refuses: the SDK's own choice, and its error.
    import surrealdb

    return surrealdb.AsyncSurreal(url)
