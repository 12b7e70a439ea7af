"""Hypothesis properties of configuration: any file or environment gives a Config or a ConfigError.

Documents are built from the real sections and keys with values of every TOML
type (right and wrong), plus unknown keys, plus raw bytes that are not TOML or
not UTF-8 at all. ``tickets`` turns a ConfigError into a message naming the key;
any other exception would be a traceback at start-up.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from standalone.config import Config, ConfigError, load_config
from tests.fuzzing import VARIANTS, batches, count, enough, fuzz_settings

SECTIONS = {
    name: sorted(
        msgspec.structs.fields(field.type)[i].name
        for i in range(len(msgspec.structs.fields(field.type)))
    )
    for name, field in ((f.name, f) for f in msgspec.structs.fields(Config))
}
SCALARS = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.sampled_from(
        [
            "mem://",
            "surrealkv://data/db",
            "memory://",
            "unix:///tmp/x.sock",
            "redis://h:1/0",
            "s3://b/p?endpoint=http://127.0.0.1:1",
            "file://x",
            "ws://127.0.0.1:8000",
            "0",
            "127.0.0.1:0",
            "always",
            "INFO",
            "1e3",
            "true",
        ]
    ),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=2)
    ),
    max_leaves=5,
)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, float):
        return repr(value)
    return json.dumps(value)


@st.composite
def documents(draw: st.DrawFn) -> bytes:
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(st.binary(max_size=200))  # not TOML, maybe not UTF-8
    lines: list[str] = []
    for section in draw(
        st.lists(st.sampled_from(sorted(SECTIONS)) | st.text(max_size=8), max_size=4, unique=True)
    ):
        lines.append(f"[{json.dumps(section)}]")
        known = SECTIONS.get(section, [])
        keys = draw(
            st.lists(
                st.sampled_from(known) if known else st.text(min_size=1, max_size=8),
                max_size=5,
                unique=True,
            )
        )
        if draw(st.booleans()):
            keys.append(draw(st.text(min_size=1, max_size=8)))
        for key in keys:
            lines.append(f"{json.dumps(key)} = {toml_value(draw(VALUES))}")
    text = "\n".join(lines)
    if kind == 1:  # a cut-short or mangled document
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] + draw(st.text(max_size=5))
    return text.encode("utf-8", "surrogatepass")


ENVIRON = st.dictionaries(
    st.one_of(
        st.builds(
            lambda s, k: f"TICKETS__{s}__{k}",
            st.sampled_from(sorted(SECTIONS)).map(str.upper) | st.text(max_size=6),
            st.sampled_from(sorted({k for ks in SECTIONS.values() for k in ks})).map(str.upper)
            | st.text(max_size=6),
        ),
        st.text(max_size=20).map(lambda s: "TICKETS__" + s),
        st.just("DISCORD_TOKEN"),
    ),
    st.text(max_size=30).filter(lambda s: "\x00" not in s),
    max_size=4,
)


@pytest.mark.parametrize("variant", VARIANTS)
def test_any_file_and_environment_give_a_config_or_a_clear_error(variant: str) -> None:
    name = f"config files [{variant}]"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "tickets.toml"

        @fuzz_settings(variant, 200, 480)
        @given(batches(st.tuples(documents(), ENVIRON), variant))
        def check(batch: list[tuple[bytes, dict[str, str]]]) -> None:
            for document, environ in batch:
                count(name)
                one(document, environ)

        def one(document: bytes, environ: dict[str, str]) -> None:
            path.write_bytes(document)
            try:
                config = load_config(path, environ=environ)
            except ConfigError as exc:
                assert str(exc)
                return
            assert isinstance(config, Config)

        check()
    enough(name, variant, 200, 480, batched=True)
