"""Shared settings of the hypothesis properties: a small default run, a big dedicated one.

Every fuzz test takes ``variant`` from ``VARIANTS``: ``default`` runs in the
normal test run with a fixed derandomised sample; ``fuzz`` (marked ``fuzz``,
selected with ``-m fuzz``) runs the dedicated budget, with fresh randomness, and
``TICKETS_FUZZ_SCALE`` multiplies that budget. Each property counts the cases it
really ran, so the run's summary states the total.
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings

VARIANTS = [
    pytest.param("default"),
    # The dedicated run's budget takes minutes per property, past the default timeout.
    pytest.param("fuzz", marks=[pytest.mark.fuzz, pytest.mark.timeout(3600)]),
]
# Cases run per property, summed over the session (printed by tests/conftest.py).
CASES: Counter[str] = Counter()


# Cheap properties check a batch of inputs per hypothesis example in the dedicated run:
# the engine's own cost per example is far above theirs. Each input counts as a case.
FUZZ_BATCH = 25


def batch_size(variant: str, batched: bool) -> int:
    return FUZZ_BATCH if batched and variant == "fuzz" else 1


def batches(strategy: Any, variant: str) -> Any:
    """Lists of inputs: one in the default run, ``FUZZ_BATCH`` in the dedicated one."""
    from hypothesis import strategies as st

    size = batch_size(variant, True)
    return st.lists(strategy, min_size=size, max_size=size)


def budget(variant: str, default: int, fuzz: int) -> int:
    """Hypothesis examples to run."""
    if variant != "fuzz":
        return default
    return max(1, int(fuzz * float(os.environ.get("TICKETS_FUZZ_SCALE", "1"))))


def fuzz_settings(variant: str, default: int, fuzz: int) -> settings:
    """Hypothesis settings for one property; no example database written in the tree."""
    return settings(
        max_examples=budget(variant, default, fuzz),
        deadline=None,
        database=None,
        derandomize=variant != "fuzz",
        # Shrinking a found failure is welcome; explicit and generate phases only otherwise.
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )


def count(name: str) -> None:
    CASES[name] += 1


def enough(name: str, variant: str, default: int, fuzz: int, *, batched: bool = False) -> None:
    """The property really ran (nearly) its budget: a strategy that stopped early tests less."""
    wanted = budget(variant, default, fuzz) * batch_size(variant, batched)
    assert CASES[name] >= wanted * 0.9, f"{name}: {CASES[name]} cases of {wanted}"


def json_values(leaves: Any) -> Any:
    """Any JSON value built from ``leaves``."""
    from hypothesis import strategies as st

    return st.recursive(
        leaves,
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(st.text(max_size=12), children, max_size=4)
        ),
        max_leaves=12,
    )


async def snapshot(db: Any) -> dict[str, Any]:
    """Every record of every table of a database: what a refused input must leave alone."""
    info = await db.one("INFO FOR DB;")
    tables = sorted(info.get("tables", {}))
    return {t: await db.run("SELECT * FROM type::table($t);", {"t": t}) for t in tables}
