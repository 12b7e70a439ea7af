"""The JSON API under ``/t/{tenant}/api``: one module per resource, as v4's routes.

Each module has service functions (what the pages call too) and an ``ROUTES``
list of ``ApiRoute`` entries, from which both the aiohttp routes and the
OpenAPI document are built.
"""
