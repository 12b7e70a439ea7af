"""A whole ticket with interactions delivered over HTTP, signed, instead of the gateway.

The stand-in POSTs each interaction to the ingress; the worker answers through
the interceptor, which relays the answer to the ingress holding Discord's
request: modals, messages and deferrals all arrive as the HTTP answer.
"""

from __future__ import annotations

from pathlib import Path

import msgspec
from aiohttp import web

from emulation.discord import FakeDiscord
from standalone.db.tenants import TenantRepository
from standalone.db.tickets import TicketRepository
from standalone.http.interactions import add_interaction_routes
from standalone.http.public_keys import ApplicationPublicKeys
from standalone.interceptor.run import serve_interceptor
from standalone.interceptor.tokens import DatabaseTokens
from standalone.services.aio import AioRunner, open_backends
from tests.e2e.conftest import eventually, make_world, stack_config
from tests.e2e.flow import close_with_approval, open_ticket, post_panel

SECRET = "shared-by-workers-and-interceptors"


async def test_a_ticket_opened_and_closed_over_http_interactions(
    tmp_path: Path, discord: FakeDiscord
):
    base = stack_config(tmp_path, discord)
    backends = await open_backends(base)
    world = make_world(discord, "web")
    tenants = TenantRepository(backends.db, backends.cipher)
    await tenants.add(world.tenant, world.app.token, str(world.app.id))
    tokens = DatabaseTokens(tenants)
    with_secret = msgspec.structs.replace(
        base, interceptor=msgspec.structs.replace(base.interceptor, secret=SECRET)
    )
    interceptor, interceptor_url = await serve_interceptor(
        with_secret, backends.coordination, tokens, listen="127.0.0.1:0"
    )
    public_keys = ApplicationPublicKeys(tokens, discord.api_base)
    app = web.Application()
    # Longer than Discord's 3 s: a loaded test machine must not turn answers into deferrals.
    add_interaction_routes(
        app, coordination=backends.coordination, public_keys=public_keys, answer_timeout_s=8.0
    )
    ingress = web.AppRunner(app, access_log=None)
    await ingress.setup()
    await web.TCPSite(ingress, "127.0.0.1", 0).start()
    ingress_url = f"http://127.0.0.1:{ingress.addresses[0][1]}"
    config = msgspec.structs.replace(
        with_secret,
        interceptor=msgspec.structs.replace(with_secret.interceptor, url=interceptor_url),
    )
    runner = AioRunner(config, backends, instance="web")
    try:
        await runner.start()
        # The portal's check: a signed PING answered, a forged one refused.
        await discord.set_interactions_endpoint(
            world.app.id, f"{ingress_url}/interactions/{world.tenant}"
        )
        panel = await post_panel(discord, world)
        channel_id = await open_ticket(discord, world, panel, "Printer on fire")
        await close_with_approval(discord, world, channel_id, world.staff, world.member)
        repo = TicketRepository(backends.db, world.tenant)

        async def closed() -> bool:
            return [t.state for t in await repo.tickets()] == ["closed"]

        await eventually(closed)
        assert discord.channel(channel_id) is None
        assert discord.http_interactions.failures == []
        assert discord.http_interactions.deliveries[world.app.id] >= 4
        assert discord.server_errors == []
    finally:
        await runner.stop()
        await ingress.cleanup()
        await interceptor.cleanup()
        await public_keys.close()
        await backends.close()
