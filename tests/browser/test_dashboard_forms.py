"""Forms in the browser: the server's messages appear beside their fields; a form whose
CSRF token was tampered with is refused and changes nothing."""

from __future__ import annotations

import pytest

from standalone.db.settings import SettingsRepository
from tests.browser.dashboard import Dashboard, log_in

pytestmark = pytest.mark.browser


async def test_bad_values_are_shown_next_to_their_fields(page, shots, dashboard: Dashboard):
    await log_in(page, dashboard, dashboard.world.staff)
    await page.goto(dashboard.guild_url("categories"))
    await page.fill("#category-member_limit", "500")
    await page.fill("#category-channel_name", "")
    await page.click("#category-form button[type=submit]")
    name = page.locator("#category-form .field:has(#category-name)")
    await name.locator(".error").wait_for()
    assert await name.locator(".error").inner_text() == "Required."
    assert await name.get_attribute("class") == "field invalid"
    limit = page.locator("#category-form .field:has(#category-member_limit)")
    assert await limit.locator(".error").inner_text() == "A whole number from 1 to 50."
    assert await page.input_value("#category-member_limit") == "500"  # kept to correct
    channel = page.locator("#category-form .field:has(#category-channel_name)")
    assert await channel.locator(".error").inner_text() == "Required."
    assert await page.locator("#category-form .error").count() == 3
    await shots.take(page, "category form errors")
    guild = str(dashboard.world.guild.id)
    assert (
        await SettingsRepository(dashboard.backends.db, dashboard.world.tenant).categories(guild)
        == []
    )


async def test_a_tampered_csrf_token_is_refused(page, shots, dashboard: Dashboard):
    await log_in(page, dashboard, dashboard.world.staff)
    await page.goto(dashboard.guild_url("settings"))
    await page.fill("#settings-footer", "Forged")
    await page.eval_on_selector("#settings-form input[name=csrf_token]", "e => e.value = 'x'")
    await page.click("#settings-form button[type=submit]")
    await page.wait_for_selector("text=Form expired")
    assert "security token is missing or wrong" in await page.inner_text("main")
    await shots.take(page, "csrf refused")
    guild = str(dashboard.world.guild.id)
    stored = await SettingsRepository(dashboard.backends.db, dashboard.world.tenant).guild(guild)
    assert stored.footer is None


async def test_log_out_ends_the_session(page, dashboard: Dashboard):
    await log_in(page, dashboard, dashboard.world.staff)
    await page.click("header.top button[type=submit]")
    await page.wait_for_selector("#login")
    await page.goto(dashboard.guild_url("settings"))
    # Logged out: the settings page sends the browser to log in again (the consent page).
    await page.wait_for_selector(f'button[data-user="{dashboard.world.staff.username}"]')
