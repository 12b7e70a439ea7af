"""The feedback form on the way to closing one's own ticket."""

from __future__ import annotations

from standalone.db.feedback import FeedbackRepository
from tests.e2e.closing_flow import answer_text, closed, dms, open_for, request_message
from tests.e2e.conftest import TIMEOUT, eventually
from tests.e2e.forge import submit_raw
from tests.e2e.test_closing import SENT, answer, click_close, slash_close, start


async def test_creator_rates_before_asking_and_is_asked_once(discord, stack):
    cast = await start(discord, stack, feedback=True)
    world = cast.world
    channel_id = await open_for(discord, cast)
    actor = world.actor(discord, cast.creator)
    ask = await actor.slash("close", {"reason": "works now"}, channel_id=channel_id)
    form = await ask.response(timeout=TIMEOUT)
    assert form["type"] == 9
    custom_id = form["data"]["custom_id"]
    assert custom_id == "feedback:1.request"  # no reason in it, however long
    assert request_message(discord, world, channel_id) is None

    # Values the form cannot send are refused with a reason, and nothing is stored.
    repo = FeedbackRepository(stack.backends.db, world.tenant)
    for fields, refusal in (
        ({"rating": ["9"]}, "pick a rating from 1 to 5"),
        ({"rating": []}, "pick a rating from 1 to 5"),
        ({"rating": ["4"], "comment": "ok"}, "comment must be 4 to 1000"),
        ({"rating": ["4"], "comment": "x" * 1001}, "comment must be 4 to 1000"),
    ):
        bad = await submit_raw(discord, world, ask.payload, custom_id, fields)
        assert refusal in (await answer_text(bad)).lower(), fields
    assert await repo.get(str(world.guild.id), 1) is None
    other = await submit_raw(
        discord,
        world,
        {**ask.payload, "member": _member_of(ask, cast.staff)},
        custom_id,
        {"rating": ["1"]},
    )
    assert "Only the member who opened this ticket can give feedback" in await answer_text(other)

    submit = await actor.submit_modal(
        custom_id, {"rating": ["4"], "comment": "Quick and kind"}, channel_id=channel_id
    )
    assert SENT in await answer_text(submit)
    saved = await repo.get(str(world.guild.id), 1)
    assert saved.rating == 4 and saved.user_id == str(cast.creator.id)
    assert "Quick" not in saved.comment  # encrypted
    assert stack.backends.cipher.decrypt(saved.comment) == "Quick and kind"
    ticket_request = request_message(discord, world, channel_id)
    assert ticket_request is not None
    reason = ticket_request.embeds[0]["fields"][0]["value"]
    assert reason == "works now"  # carried over the form, not through its custom id

    # Given once: rejecting and asking again goes straight to the request (no loop, #407).
    assert "rejected" in await answer(discord, cast, cast.staff, channel_id, "closeno")
    assert SENT in await click_close(discord, cast, cast.creator, channel_id)
    assert "Closing" in await answer(discord, cast, cast.staff, channel_id, "closeyes")
    await eventually(lambda: closed(stack, world, 1))
    (dm,) = dms(discord, world, cast.creator)
    fields = {f["name"]: f["value"] for f in dm.embeds[0]["fields"]}
    assert fields["Feedback"] == "★★★★☆ (4/5)"


async def test_creator_accepting_rates_first(discord, stack):
    cast = await start(discord, stack, feedback=True)
    world = cast.world
    channel_id = await open_for(discord, cast)
    assert SENT in await slash_close(discord, cast, cast.staff, channel_id, "done")
    request = request_message(discord, world, channel_id)
    accept = await world.actor(discord, cast.creator).click(request.id, f"closeyes:{1}")
    form = await accept.response(timeout=TIMEOUT)
    assert form["type"] == 9 and form["data"]["custom_id"] == "feedback:1.accept"
    assert (await stack_ticket(stack, world)).state == "open"
    submit = await world.actor(discord, cast.creator).submit_modal(
        "feedback:1.accept", {"rating": ["5"]}, channel_id=channel_id
    )
    assert "Closing ticket #1" in await answer_text(submit)
    done = await eventually(lambda: closed(stack, world, 1))
    assert done.closed_by == str(cast.staff.id)
    assert stack.backends.cipher.decrypt(done.close_reason) == "done"
    saved = await FeedbackRepository(stack.backends.db, world.tenant).get(str(world.guild.id), 1)
    assert saved.rating == 5 and saved.comment is None


async def test_only_the_creator_closing_is_asked_for_feedback(discord, stack):
    cast = await start(discord, stack, feedback=True)
    world = cast.world
    channel_id = await open_for(discord, cast)
    opening = (await stack_ticket(stack, world)).opening_message_id
    click = await world.actor(discord, cast.staff).click(int(opening), "close:1")
    assert (await click.response(timeout=TIMEOUT))["type"] == 5  # no form for staff
    assert SENT in await answer_text(click)
    request = request_message(discord, world, channel_id)
    reject = await world.actor(discord, cast.creator).click(request.id, "closeno:1")
    assert (await reject.response(timeout=TIMEOUT))["type"] == 5  # rejecting needs no form
    assert "rejected" in await answer_text(reject)
    feedback = FeedbackRepository(stack.backends.db, world.tenant)
    assert await feedback.get(str(world.guild.id), 1) is None


def _member_of(inter, user):
    member = dict(inter.payload["member"])
    member["user"] = {**member["user"], "id": str(user.id), "username": "someone"}
    return member


async def stack_ticket(stack, world):
    from standalone.db.tickets import TicketRepository

    return await TicketRepository(stack.backends.db, world.tenant).get(str(world.guild.id), 1)
