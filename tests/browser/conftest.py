"""Browser-test fixtures: headless Chromium pages and a folder of screenshots per test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import disnake
import pytest

from emulation.discord import FakeDiscord
from tests.browser.chromium import Screenshots, launched, require_chromium, shot_folder
from tests.browser.dashboard import Dashboard, running_dashboard

SHOT_FOLDERS = pytest.StashKey[list[Path]]()


@pytest.fixture
def chromium_path() -> str:
    return require_chromium()


@pytest.fixture
async def browser(chromium_path: str) -> AsyncIterator[Any]:
    async with launched(chromium_path) as running:
        yield running


@pytest.fixture
async def page(browser: Any) -> AsyncIterator[Any]:
    context = await browser.new_context(viewport={"width": 1100, "height": 800})
    # Slow CI machines: a page gets the same patience as the rest of the tests.
    context.set_default_timeout(30_000)
    tab = await context.new_page()
    yield tab
    await context.close()


@pytest.fixture
def shots(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Screenshots:
    """Screenshots go under the run's base temp folder (``--basetemp`` if given)."""
    folder = shot_folder(tmp_path_factory.getbasetemp(), request.node.name)
    request.config.stash.setdefault(SHOT_FOLDERS, []).append(folder)
    return Screenshots(folder)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    folders = config.stash.get(SHOT_FOLDERS, [])
    if folders:
        terminalreporter.section("browser screenshots")
        for folder in folders:
            count = len(list(folder.glob("*.png")))
            terminalreporter.write_line(f"{folder} ({count} screenshots)")


@pytest.fixture
async def discord() -> AsyncIterator[FakeDiscord]:
    fake = FakeDiscord()
    await fake.start()
    base = disnake.http.Route.BASE
    yield fake
    disnake.http.Route.BASE = base
    await fake.stop()
    assert fake.server_errors == []


@pytest.fixture
async def dashboard(tmp_path: Path, discord: FakeDiscord) -> AsyncIterator[Dashboard]:
    async with running_dashboard(tmp_path, discord) as running:
        yield running
