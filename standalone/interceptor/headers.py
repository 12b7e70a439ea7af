"""The headers a worker's REST calls carry to the interceptor: who calls, for which bot.

Their own module: a worker that sends them must not load the interceptor service
(aiohttp's server) to know their names.
"""

from __future__ import annotations

SECRET_HEADER = "X-Tickets-Interceptor-Secret"  # noqa: S105 (a header name)
TENANT_HEADER = "X-Tickets-Tenant"
