"""Buckets as Discord computes them: route template plus major parameter."""

from __future__ import annotations

from standalone.interceptor.routes import route_of


def test_ids_become_placeholders_and_the_major_parameter_is_kept_apart():
    route = route_of("post", "/channels/123/messages/456")
    assert (route.method, route.template, route.major) == (
        "POST",
        "/channels/{major}/messages/{id}",
        "channels/123",
    )
    assert route.global_bound
    assert (
        route_of("GET", "/channels/9/messages/1").route_id
        == route_of("GET", "/channels/8/messages/2").route_id
    )
    assert route_of("GET", "/channels/9").major_id != route_of("GET", "/channels/8").major_id


def test_webhook_and_interaction_routes_are_keyed_by_their_token_and_not_global():
    callback = route_of("POST", "/interactions/1/secret-token/callback")
    assert callback.major == "interactions/1/secret-token"
    assert callback.template == "/interactions/{major}/{major}/callback"
    assert not callback.global_bound
    # The token never appears in a key name.
    assert "secret-token" not in callback.major_id
    followup = route_of("PATCH", "/webhooks/1/tok/messages/@original")
    assert followup.major == "webhooks/1/tok"
    assert not followup.global_bound


def test_routes_without_a_major_parameter():
    route = route_of("GET", "/users/@me")
    assert (route.template, route.major, route.major_id) == ("/users/@me", "", "-")
