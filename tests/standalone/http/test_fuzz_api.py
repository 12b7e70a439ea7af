"""Hypothesis against the dashboard API's write routes: bodies from each route's own schema,
the same with wrong types, and any JSON at all.

Every answer is a success or a documented refusal (4xx with the error body), never a
server error; a refusal leaves every database table exactly as it was. Hypothesis runs
in a worker thread; the service answers on the test's event loop.
"""

from __future__ import annotations

import asyncio
import string
from collections import Counter
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from standalone.http.api.table import api_routes
from tests.fuzzing import VARIANTS, count, enough, fuzz_settings, json_values, snapshot

from .conftest import Portal, Seeded

ANY_JSON = json_values(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
)
DIGITS = st.from_regex(r"[0-9]{1,20}", fullmatch=True)


def from_schema(node: dict[str, Any], defs: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values close to what ``node`` allows: in range, at and past its bounds."""
    if "$ref" in node:
        return from_schema(defs[node["$ref"].rsplit("/", 1)[1]], defs)
    if "anyOf" in node:
        return st.one_of(*(from_schema(n, defs) for n in node["anyOf"]))
    if "enum" in node:
        return st.sampled_from(node["enum"]) | st.text(max_size=8)
    kind = node.get("type")
    if kind == "string":
        longest = node.get("maxLength", 200)
        texts = st.text(max_size=longest + 2) | st.text(string.printable, max_size=longest + 2)
        if "pattern" in node:
            texts = DIGITS | st.just("https://example.com/a.png") | texts
        return texts
    if kind == "integer":
        low, high = node.get("minimum", -(2**31)), node.get("maximum", 2**31)
        return st.integers(low - 2, high + 2) | st.sampled_from([low, high]) | st.integers()
    if kind == "number":
        return st.floats(allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "array":
        items = from_schema(node.get("items", {}), defs) if node.get("items") else ANY_JSON
        return st.lists(items, max_size=min(node.get("maxItems", 5), 5) + 1)
    if kind == "object":
        properties = node.get("properties", {})
        return st.fixed_dictionaries(
            {}, optional={k: from_schema(v, defs) for k, v in properties.items()}
        )
    return ANY_JSON


def bodies(struct: Any) -> st.SearchStrategy[Any]:
    schema = msgspec.json.schema(struct)
    defs = schema.get("$defs", {})
    root = defs[schema["$ref"].rsplit("/", 1)[1]]
    names = sorted(root.get("properties", {}))
    return st.one_of(
        from_schema(root, defs),  # mostly valid
        st.dictionaries(st.sampled_from(names) | st.text(max_size=8), ANY_JSON, max_size=4),
        ANY_JSON,  # anything at all
    )


WRITES = [r for r in api_routes() if r.method in {"POST", "PATCH", "PUT"} and r.body is not None]


@pytest.mark.parametrize("variant", VARIANTS)
async def test_write_routes_answer_or_refuse_and_a_refusal_writes_nothing(
    portal: Portal, seeded: Seeded, variant: str
) -> None:
    name = f"api bodies [{variant}]"
    loop = asyncio.get_running_loop()
    fill = {
        "{tenant}": "red",
        "{guild}": seeded.guild,
        "{category}": seeded.category,
        "{question}": seeded.question,
        "{tag}": seeded.tag,
    }
    routes = []
    for route in WRITES:
        path = route.path
        for placeholder, value in fill.items():
            path = path.replace(placeholder, value)
        routes.append((route, path))
    cases = st.sampled_from(routes).flatmap(
        lambda pair: st.tuples(
            st.just(pair),
            bodies(pair[0].body) if isinstance(pair[0].body, type) else st.binary(max_size=200),
        )
    )

    seen: Counter[int] = Counter()

    async def one(route: Any, path: str, body: Any) -> None:
        before = await snapshot(portal.backends.db)
        if isinstance(body, bytes):
            status, answer = await seeded.admin.call(
                route.method, path, raw=body, headers={"Content-Type": "application/zip"}
            )
        else:
            status, answer = await seeded.admin.call(route.method, path, body)
        assert status < 500, (route.method, path, body, status, answer)
        seen[status // 100] += 1
        if status >= 400:
            assert isinstance(answer, dict) and answer["error"]["message"], answer
            after = await snapshot(portal.backends.db)
            assert after == before, f"{route.method} {path} refused {body!r} but wrote"

    @fuzz_settings(variant, 60, 1_500)
    @given(cases)
    def check(case: tuple[tuple[Any, str], Any]) -> None:
        count(name)
        (route, path), body = case
        asyncio.run_coroutine_threadsafe(one(route, path, body), loop).result(60)

    await asyncio.to_thread(check)
    enough(name, variant, 60, 1_500)
    # Both sides were reached: bodies that were taken and bodies that were refused.
    assert seen[2] and seen[4], seen
