"""The ``http`` service: log in with Discord, the JSON API, /metrics, /healthz, /readyz.

Run it with ``tickets serve http`` (for now ``tickets serve-http``) or inside
``tickets run`` with ``[http] enabled = true``. Everything a tenant's people see
lives under ``/t/{tenant}/``: a session (cookie ``tickets_session``, path
``/t/{tenant}``) belongs to one tenant.

Interface for the HTML pages (they call the same code as the API):

- Routes: ``standalone.http.service.add_routes(source)`` registers a function
  returning ``aiohttp.web.RouteDef``s; every app the service builds includes them.
  ``standalone.http.app.make_app(deps, extra_routes=...)`` does the same for tests.
- Dependencies: ``standalone.http.deps.deps_of(request)`` → ``HttpDeps`` (db, store,
  coordination, cipher, Discord client, sessions, tenants);
  ``deps.tenant_of(request)`` → the URL's tenant (404 if unknown).
- Who is asking: ``standalone.http.access``: ``current_session(request)`` (None when
  logged out), ``require_session(request)`` (401/403), ``guild_access(request,
  guild_id)`` → ``GuildAccess`` (level, staff categories), ``require_member`` and
  ``require_admin(request, guild_id)`` (403 unless Manage Server/Administrator/owner).
- CSRF: ``standalone.http.csrf``: ``csrf_token(session)`` for a hidden form field
  named ``csrf_token`` (``CSRF_FIELD``); ``check_csrf(request, session, form)``
  before any change (raises 403). JSON clients send header ``X-CSRF-Token``.
- Log in / out: link to ``/t/{tenant}/auth/login?next=/t/{tenant}/...``; log out
  is a form ``POST /t/{tenant}/auth/logout`` with the CSRF field.
- Errors: services raise ``standalone.http.errors.ApiError(status, message,
  field)``; a 422 names the field, so a page can show the message next to it.
- Services per resource in ``standalone.http.api.*`` (guilds, settings,
  categories, questions, tags, panels, tickets): plain async functions taking
  ``HttpDeps``, a ``GuildAccess`` and msgspec Structs, returning Structs.
"""
