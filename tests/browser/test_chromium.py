"""The browser harness itself: Debian's Chromium starts and screenshots land in the run's folder."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


async def test_chromium_renders_a_page_and_saves_a_screenshot(page, shots, tmp_path_factory):
    await page.set_content("<h1 id=t>Tickets</h1>")
    assert await page.inner_text("#t") == "Tickets"
    path = await shots.take(page, "Hello page")
    assert path.name == "01-hello-page.png"
    assert path.is_relative_to(tmp_path_factory.getbasetemp())
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
