"""``os1 remind``, ``os1 reminders`` and ``os1 actions``: the skills from the terminal."""

from __future__ import annotations

import json
import sys

import click

from os1.errors import InputError
from os1.skills.reminders import describe
from os1.skills.when import describe_moment
from os1.terminal import errors_as_messages, fail, open_app, say


@click.command()
@click.argument("request", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def remind(ctx: click.Context, request: tuple[str, ...], as_json: bool) -> None:
    """Set a reminder: os1 remind call Annie tomorrow at 6pm"""
    with errors_as_messages():
        app = open_app(ctx)
        router = app.skills()
        text = " ".join(request).strip()
        if not text:
            fail(InputError("Say what to remind you of and when: os1 remind call Annie at 6pm"))
        words = text if text.lower().startswith("remind") else f"remind me to {text}"
        parsed = router.parser.parse(words, router.now())
        if parsed.call is None or parsed.intent != "reminder.add":
            fail(
                InputError(
                    f"I couldn't read a reminder in {text!r}.",
                    "Try: os1 remind call Annie tomorrow at 6pm",
                )
            )
        result = router.run(parsed.call)
    if as_json:
        say(json.dumps({"outcome": result.outcome, "said": result.say, **result.data}, indent=2))
    else:
        say(result.say)
    if result.outcome != "done":
        sys.exit(1)  # a question back (an ambiguous time): nothing was set


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def reminders(ctx: click.Context, as_json: bool) -> None:
    """List your reminders, soonest first."""
    with errors_as_messages():
        app = open_app(ctx)
        router = app.skills()
        active = router.reminders.active(limit=100_000)
        now = router.now()
    if as_json:
        say(json.dumps({"reminders": [r.to_dict() for r in active]}, indent=2, ensure_ascii=False))
        return
    if not active:
        say("You have no reminders. Set one with: os1 remind call Annie tomorrow at 6pm")
        return
    for reminder in active:
        say(f"{reminder.id}  {describe(reminder, now)}")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--limit", default=50, show_default=True, help="How many of the latest actions.")
@click.pass_context
def actions(ctx: click.Context, as_json: bool, limit: int) -> None:
    """The action log: what OS1 did, when, and what asked for it."""
    with errors_as_messages():
        app = open_app(ctx)
        logged = app.skills().log.recent(limit)
    if as_json:
        say(json.dumps({"actions": [a.to_dict() for a in logged]}, indent=2, ensure_ascii=False))
        return
    if not logged:
        say("OS1 has not done anything for you yet.")
        return
    for action in logged:
        when = action.at.astimezone().strftime("%Y-%m-%d %H:%M")
        say(f"{when}  {action.skill} ({action.outcome}, asked by {action.asked_by}): {action.said}")
        say(f"    asked: {action.source_text}")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def followups(ctx: click.Context, as_json: bool) -> None:
    """The plans you mentioned that the companion will ask about afterwards."""
    with errors_as_messages():
        app = open_app(ctx)
        found = app.followups()
        waiting = found.pending() if found is not None else []
        now = app.skills().now()
    if as_json:
        say(json.dumps({"followups": [f.to_dict() for f in waiting]}, indent=2))
        return
    if found is None:
        say("Follow-ups are off (os1 config set skills.follow_ups true).")
    elif not waiting:
        say("No follow-ups waiting. Tell it of a plan: 'I have an interview on Friday'.")
    for follow in waiting:
        say(f"{follow.id}  the {follow.topic}: asked {describe_moment(follow.ask_at, now)}")
