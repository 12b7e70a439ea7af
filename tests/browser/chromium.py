"""Headless Chromium for browser tests: Debian's build, driven by Playwright, never downloaded."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("TICKETS_CHROMIUM", "/usr/bin/chromium")


def in_ci() -> bool:
    """CI (``CI=true``) or .ci/run (``TICKETS_REQUIRE_BROWSER=1``): a missing browser fails."""
    return (
        os.environ.get("CI", "").lower() in {"1", "true", "yes"}
        or os.environ.get("TICKETS_REQUIRE_BROWSER") == "1"
    )


def require_chromium() -> str:
    """The browser's path; in CI its absence fails the test, elsewhere it skips it."""
    missing = None
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        missing = f"no Chromium at {CHROMIUM} (apt-get install chromium, or set TICKETS_CHROMIUM)"
    else:
        try:
            import playwright.async_api  # noqa: F401
        except ImportError:
            missing = "the playwright package is not installed (pip install '.[test]')"
    if missing is not None:
        if in_ci():
            pytest.fail(f"browser tests must run in CI: {missing}", pytrace=False)
        pytest.skip(missing)
    return CHROMIUM


@asynccontextmanager
async def launched(path: str) -> AsyncIterator[Any]:
    """A headless Chromium; no sandbox, as tests may run as root in a container."""
    from playwright.async_api import async_playwright

    async with async_playwright() as driver:
        browser = await driver.chromium.launch(
            executable_path=path, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield browser
        finally:
            await browser.close()


class Screenshots:
    """Numbered full-page screenshots of one test, in the run's output folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.taken: list[Path] = []

    async def take(self, page: Any, step: str) -> Path:
        name = re.sub(r"[^a-z0-9]+", "-", step.lower()).strip("-")
        path = self.folder / f"{len(self.taken) + 1:02d}-{name}.png"
        await page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 0, path
        self.taken.append(path)
        return path


def shot_folder(base: Path, test_name: str) -> Path:
    folder = base / "screenshots" / re.sub(r"[^A-Za-z0-9_.-]+", "_", test_name)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    return folder
