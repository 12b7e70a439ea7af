"""The REST interceptor: one rate limiter for every bot token, shared across instances.

``limiter`` keeps Discord's buckets and the global limit in the coordination
port; ``middleware`` applies it to any aiohttp client session (the
interceptor's own, or disnake's in the aio mode); ``service`` is the proxy
that workers send their REST calls to.
"""
