"""``os1 calendar``: the calendar from the terminal (list, add, cancel, import, export, sync)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from os1.errors import InputError
from os1.skills.base import SkillCall
from os1.skills.calendar import CalendarError, parse_calendar, split_by_uid
from os1.skills.calendar_skills import describe_occurrence
from os1.terminal import errors_as_messages, fail, open_app, say

MAX_IMPORT = 50 * 1024 * 1024


@click.group(invoke_without_command=True)
@click.option("--day", "days", default="", help="Which days: 'tomorrow', 'this week', 'Friday'.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def calendar(ctx: click.Context, days: str, as_json: bool) -> None:
    """Your calendar: what is on (the next 7 days unless --day says), and its commands."""
    if ctx.invoked_subcommand is not None:
        return
    with errors_as_messages():
        router = open_app(ctx).skills()
        result = router.registry.act(
            _call("calendar.list", {"when": days}, f"os1 calendar --day {days!r}")
        )
    if as_json:
        say(json.dumps({"said": result.say, **result.data}, indent=2, ensure_ascii=False))
    else:
        say(result.say)


def _call(skill: str, arguments: dict[str, str], said: str) -> SkillCall:
    return SkillCall(skill, arguments, asked_by="user", source_text=said)


@calendar.command("add")
@click.argument("request", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def add(ctx: click.Context, request: tuple[str, ...], as_json: bool) -> None:
    """Put an event in: os1 calendar add dinner with Amy on Friday at 8"""
    text = " ".join(request).strip()
    with errors_as_messages():
        router = open_app(ctx).skills()
        parsed = router.parser.calendar.parse(f"put {text}", router.now())
        if parsed.call is None or parsed.intent != "calendar.add":
            fail(
                InputError(
                    f"I couldn't read an event in {text!r}.",
                    "Try: os1 calendar add dinner with Amy on Friday at 8pm",
                )
            )
        result = router.run(parsed.call)
    _report(result.outcome, result.say, dict(result.data), as_json)


@calendar.command("cancel")
@click.argument("which", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def cancel(ctx: click.Context, which: tuple[str, ...], as_json: bool) -> None:
    """Take an event out: os1 calendar cancel dinner with Amy"""
    words = " ".join(which)
    with errors_as_messages():
        router = open_app(ctx).skills()
        result = router.run(_call("calendar.cancel", {"which": words}, f"cancel {words}"))
    _report(result.outcome, result.say, dict(result.data), as_json)


def _report(outcome: str, said: str, data: dict[str, object], as_json: bool) -> None:
    if as_json:
        say(json.dumps({"outcome": outcome, "said": said, **data}, indent=2, ensure_ascii=False))
    else:
        say(said)
    if outcome != "done":
        sys.exit(1)  # a question back, or nothing found: nothing was changed


@calendar.command("import")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def import_ics(ctx: click.Context, path: Path) -> None:
    """Add the events of an .ics file (an event already here is replaced by the file's)."""
    with errors_as_messages():
        try:
            if path.stat().st_size > MAX_IMPORT:
                fail(InputError(f"{path} is larger than {MAX_IMPORT // 2**20} MB."))
            data = path.read_bytes()
        except OSError as exc:
            fail(InputError(f"Cannot read {path}: {exc.strerror}."))
        try:
            events = split_by_uid(parse_calendar(data))  # all read before anything is stored
        except CalendarError as exc:
            fail(InputError(f"{path} is not an iCalendar file I can read.", exc.message))
        app = open_app(ctx)
        router = app.skills()
        zone = app.zone()[1]
        push = app.calendar_remote().push()
        try:
            router.calendar.put_many(events.values(), zone, push=push, keep_sync=True)
        except CalendarError as exc:
            fail(InputError(f"Nothing was imported from {path}.", exc.message))
    noun = "event" if len(events) == 1 else "events"
    say(f"Imported {len(events)} {noun} from {path}.")


@calendar.command("export")
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def export_ics(ctx: click.Context, path: Path | None) -> None:
    """Write every event as one .ics file (to standard output without a path)."""
    with errors_as_messages():
        text = open_app(ctx).skills().calendar.export().to_ical().decode()
        if path is None:
            click.echo(text, nl=False)
            return
        temp = path.with_name(f".{path.name}.partial")
        try:
            temp.write_text(text, encoding="utf-8")
            os.replace(temp, path)  # never a half-written file
        except OSError as exc:
            fail(InputError(f"Cannot write {path}: {exc.strerror}."))
    say(f"Wrote {path}.")


@calendar.command("sync")
@click.option("--yes", is_flag=True, help="Send the changes made here without asking.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def sync(ctx: click.Context, yes: bool, as_json: bool) -> None:
    """Sync with your CalDAV server (calendar.caldav_url), both ways."""
    with errors_as_messages():
        app = open_app(ctx)
        syncer = app.calendar_sync()
        store = syncer.store
        waiting = store.waiting("ask")
        if waiting and not syncer.allow_writes:
            now = app.skills().now()
            zone = app.zone()[1]
            for event in waiting:
                first = store.first(event.uid, zone)
                shown = describe_occurrence(first, now) if first else event.title
                verb = "delete" if event.status == "deleted" else "add or change"
                say(f"  {verb}: {shown}", err=as_json)
            question = f"Send these {len(waiting)} change(s) to {syncer.client.server}?"
            if yes or (sys.stdin.isatty() and click.confirm(question, err=as_json)):
                store.set_push([e.uid for e in waiting], "send")
        try:
            report = syncer.run()
        finally:
            syncer.client.close()
    if as_json:
        say(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        say(report.summary())
