"""The ``os1`` command. Thin: it parses, builds the app, and calls into it."""

from __future__ import annotations

import functools
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from os1 import __version__
from os1.app import App, stderr_progress
from os1.clock import humanize_gap
from os1.companion.dialogue import Companion, TurnResult, check_input
from os1.companion.names import Voice
from os1.companion.onboarding import Onboarding
from os1.companion.prompt import GAP_NOTE_AFTER
from os1.config import (
    ensure_home,
    resolve_home,
    set_setting,
    setting_infos,
    setting_sources,
    settings_as_flat,
)
from os1.errors import InputError, OS1Error
from os1.memory.core import Hit
from os1.server.command import devices, pair, serve
from os1.skills.calendar_command import calendar
from os1.skills.command import actions, followups, remind, reminders
from os1.skills.scheduler import reminder_ticker
from os1.store.conversations import Conversations
from os1.terminal import INTERRUPTED_MARK
from os1.terminal import errors_as_messages as _errors_as_messages
from os1.terminal import fail as _fail
from os1.terminal import open_app as _open
from os1.terminal import report as _report
from os1.terminal import say as _say
from os1.voice.command import talk, voices

_INTERRUPTED = INTERRUPTED_MARK
_log = logging.getLogger(__name__)


# -- terminal helpers ------------------------------------------------------------


def _read_line(prompt: str) -> str | None:
    """One line from the user; None at end of input. Bytes that are not UTF-8 survive
    as surrogates, so the caller can say so instead of crashing."""
    if sys.stdin.isatty():
        try:
            return input(prompt)
        except EOFError:
            return None
    _say(prompt, nl=False)
    raw = sys.stdin.buffer.readline()
    if not raw:
        return None
    return raw.decode("utf-8", errors="surrogateescape").rstrip("\r\n")


def _read_all_stdin() -> str:
    return sys.stdin.buffer.read().decode("utf-8", errors="surrogateescape")


# -- the command group -------------------------------------------------------------


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--home", metavar="DIR", help="Data directory (default: $OS1_HOME or your data dir).")
@click.option(
    "--model",
    metavar="SPEC",
    help="embedded | gguf:/path/model.gguf | openai:MODEL | fake (overrides the config).",
)
@click.version_option(__version__, prog_name="os1")
@click.pass_context
def cli(ctx: click.Context, home: str | None, model: str | None) -> None:
    """OS1: your private AI companion. Run without a command to talk."""
    ctx.obj = {"home": home, "model": model}
    if sys.stdin.isatty():
        sys.stdin.reconfigure(errors="surrogateescape")  # type: ignore[union-attr]
    if ctx.invoked_subcommand is None:
        ctx.invoke(chat)


# -- onboarding --------------------------------------------------------------------


def _ask_onboarding_questions() -> Onboarding:
    """The onboarding conversation in the terminal; Ctrl-C or Ctrl-D stops without saving."""
    onboarding = Onboarding()
    _say("OS1 · setting up. (Ctrl-C at any time stops without saving.)\n")
    try:
        while (question := onboarding.question()) is not None:
            _say(f"OS1: {question.text}")
            while True:
                answer = _read_line("> ")
                if answer is None:
                    raise KeyboardInterrupt
                try:
                    ack = onboarding.answer(answer)
                except InputError as error:
                    _say(f"OS1: {error.message}")
                    continue
                if ack:
                    _say(f"OS1: {ack}")
                break
    except KeyboardInterrupt:
        _say("\nSetup stopped; nothing was saved. Run `os1` to start again.", err=True)
        sys.exit(130)
    return onboarding


def _meet(app: App, onboarding: Onboarding, *, replace_existing: bool, as_json: bool) -> None:
    """Let the companion choose its name and greet the user (and say where a backup went)."""
    if not as_json:
        _say("OS1: Give me a moment. I'm choosing a name for myself…")
    try:
        persona, greeting, backup = app.complete_onboarding(
            onboarding, replace_existing=replace_existing
        )
    except KeyboardInterrupt:
        _say("\nSetup stopped; nothing was saved.", err=True)
        sys.exit(130)
    if backup:
        _say(f"Your previous companion is saved in {backup}.", err=True)
    if as_json:
        _say(json.dumps({**persona.to_dict(), "greeting": greeting}, ensure_ascii=False))
    else:
        _say(f"\n{persona.companion_name}: {greeting}\n")


@cli.command()
@click.option("--reset", is_flag=True, help="Start over: your current companion is backed up.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (with --reset).")
@click.option("--non-interactive", is_flag=True, help="Use default answers (needs the two below).")
@click.option("--user-name", metavar="NAME", help="Your name (with --non-interactive).")
@click.option(
    "--voice",
    type=click.Choice(["female", "male"], case_sensitive=False),
    help="Companion's voice (non-interactive).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def setup(
    ctx: click.Context,
    reset: bool,
    yes: bool,
    non_interactive: bool,
    user_name: str | None,
    voice: Voice | None,
    as_json: bool,
) -> None:
    """Meet your companion: a few questions, a voice, and a name it chooses."""
    with _errors_as_messages():
        app = _open(ctx)
        existing = app.persona()
        if existing and not reset:
            if as_json:
                _say(json.dumps({**existing.to_dict(), "already_set_up": True}))
            else:
                _say(
                    f"Already set up: you're talking with {existing.companion_name}. "
                    "`os1 setup --reset` starts over."
                )
            return
        if non_interactive and (not user_name or not voice):
            raise InputError("--non-interactive needs --user-name NAME and --voice female|male.")
        if existing and not yes:
            if not sys.stdin.isatty():
                raise InputError("Resetting needs confirmation: add --yes.")
            click.confirm(
                f"This moves everything you and {existing.companion_name} said to a backup"
                " and starts over. Continue?",
                abort=True,
            )
        if non_interactive:
            assert user_name and voice
            onboarding = Onboarding()
            onboarding.fill_defaults(user_name, "male" if voice.lower() == "male" else "female")
        else:
            onboarding = _ask_onboarding_questions()
        _meet(app, onboarding, replace_existing=existing is not None, as_json=as_json)


# -- conversation ----------------------------------------------------------------


def _stream_reply(companion: Companion, turn: TurnResult, write: Callable[[str], None]) -> bool:
    """Stream a reply with ``write``. Returns False when the user interrupted it."""
    stream = companion.stream(turn)
    try:
        for chunk in stream:
            write(chunk)
    except KeyboardInterrupt:
        return False
    finally:
        # Whatever ended the loop (Ctrl-C, a closed pipe, a signal), closing the stream
        # stores what was said before anything else shuts down.
        stream.close()
    return True


@cli.command()
@click.option("--new", "new_conversation", is_flag=True, help="Start a new conversation.")
@click.pass_context
def chat(ctx: click.Context, new_conversation: bool) -> None:
    """Talk with your companion in the terminal (replies stream as they come)."""
    with _errors_as_messages():
        app = _open(ctx)
        if app.persona() is None:
            if not sys.stdin.isatty():
                app.require_persona()
            _meet(app, _ask_onboarding_questions(), replace_existing=False, as_json=False)
        companion = app.companion()
    persona = companion.persona
    conversation_id = companion.conversations.start() if new_conversation else None
    gap = companion.last_talked()
    since = ""
    if gap is not None and gap >= GAP_NOTE_AFTER:
        since = f" · last talked {humanize_gap(gap)} ago"
    _say(
        f"{persona.companion_name} · {companion.llm.info.name}{since}\n"
        "(Ctrl-C stops a reply; Ctrl-D or /quit leaves.)",
        err=True,
    )
    prompt = f"{persona.user_name}> "
    replying = threading.Lock()  # held while a reply is written: reminders wait for it
    ticker = reminder_ticker(app, functools.partial(_show_between_turns, prompt, replying))
    warming = _warm_up_in_background(companion)
    learning = threading.Thread()
    learning.start()
    while True:
        try:
            line = _read_line(prompt)
        except KeyboardInterrupt:
            _say("  (Ctrl-D or /quit leaves)", err=True)  # like a shell: drop the line
            continue
        if line is None or line.strip() in ("/quit", "/exit", "/bye"):
            _say("\nGoodbye." if line is None else "Goodbye.", err=True)
            if ticker is not None:
                ticker.stop()
            warming.join()  # never close the model under a running warm-up
            learning.join()
            if companion.memory is not None:
                with _errors_as_messages():
                    companion.consolidate()  # the conversation has ended
            return
        if not line.strip():
            continue
        try:
            turn = companion.start_turn(line, conversation_id)
        except InputError as error:
            _say(str(error), err=True)
            continue
        except OS1Error as error:
            _report(error)
            continue
        conversation_id = turn.conversation_id
        with replying:
            _say(f"{persona.companion_name}: ", nl=False)
            try:
                finished = _stream_reply(companion, turn, lambda chunk: _say(chunk, nl=False))
            except OS1Error as error:
                _say("")
                _report(error)
                _say("(Your message is saved.)", err=True)
                continue
            _say("" if finished else _INTERRUPTED)
        learning.join()
        learning = _in_background(functools.partial(companion.learn, turn), "os1-learn")
        warming = _warm_up_in_background(companion)


def _show_between_turns(prompt: str, replying: threading.Lock, text: str) -> None:
    """A reminder that fires while the user types: on its own line, then the prompt again.
    One that fires while a reply is being written waits for the reply to end."""
    with replying:
        _say(f"\r{text}")
        if sys.stdin.isatty():
            _say(prompt, nl=False)


def _warm_up_in_background(companion: Companion) -> threading.Thread:
    """Prepare the next prompt while the user reads and types (see Companion.warm_up)."""
    return _in_background(companion.warm_up, "os1-warm-up")


def _in_background(work: Callable[[], None], name: str) -> threading.Thread:
    """Run ``work`` off the reply path; a failure is logged, never shown mid-conversation."""

    def run() -> None:
        try:
            work()
        except Exception:
            _log.warning("%s failed", name, exc_info=True)

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    return thread


@cli.command()
@click.argument("text")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--new", "new_conversation", is_flag=True, help="Start a new conversation.")
@click.option("--conversation", metavar="ID", help="Continue this conversation.")
@click.pass_context
def ask(
    ctx: click.Context,
    text: str,
    as_json: bool,
    new_conversation: bool,
    conversation: str | None,
) -> None:
    """Say TEXT (or - to read standard input) and print the reply."""
    if text == "-":
        text = _read_all_stdin()
    if new_conversation and conversation:
        _fail(InputError("Use either --new or --conversation ID, not both."))
    with _errors_as_messages():
        app = _open(ctx)
        companion = app.companion()
        conversation_id = companion.conversations.start() if new_conversation else conversation
        turn = companion.start_turn(text, conversation_id)
    chunks: list[str] = []
    write: Callable[[str], None] = chunks.append if as_json else lambda chunk: _say(chunk, nl=False)
    error: OS1Error | None = None
    try:
        finished = _stream_reply(companion, turn, write)
    except OS1Error as caught:
        error, finished = caught, False
    if as_json:
        result: dict[str, Any] = {
            "reply": turn.reply,
            "companion": companion.persona.companion_name,
            "model": companion.llm.info.name,
            "conversation_id": turn.conversation_id,
            "message_id": turn.user_message.id,
            "reply_id": turn.reply_message.id if turn.reply_message else None,
            "status": "error" if error else turn.status,
            "timings": {
                "first_token_ms": _round(turn.timings.first_token_ms),
                "total_ms": _round(turn.timings.total_ms),
                "tokens": turn.timings.tokens,
                "tokens_per_s": _round(turn.timings.tokens_per_s),
            },
        }
        if error:
            result["error"] = str(error)
        _say(json.dumps(result, ensure_ascii=False))
    elif finished:
        _say("")
    elif error is None:
        _say(_INTERRUPTED)
    if error is not None:
        if not as_json:
            _say("")
        _fail(error)
    with _errors_as_messages():
        companion.learn(turn)  # after the reply is out: it never delays it
    if finished:
        try:
            # The next prompt, evaluated and kept on disk: the next `ask` starts from it.
            companion.warm_up()
        except Exception:  # only to start faster next time: never fails the answer given
            logging.getLogger("os1.cli").warning("could not warm up for next time", exc_info=True)
    if not finished:
        sys.exit(130)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


@cli.command()
@click.option(
    "-n",
    "--limit",
    default=20,
    show_default=True,
    type=click.IntRange(min=1, max=1_000_000),
    help="How many messages.",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.pass_context
def history(ctx: click.Context, limit: int, as_json: bool) -> None:
    """Show the most recent messages."""
    with _errors_as_messages():
        app = _open(ctx)
        messages = Conversations(app.db).recent(limit)
    if as_json:
        rows = [
            {
                "id": m.id,
                "conversation_id": m.conversation_id,
                "time": m.created_at.isoformat(),
                "role": m.role,
                "speaker": m.speaker,
                "text": m.text,
                "status": m.status,
            }
            for m in messages
        ]
        _say(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for m in messages:
        mark = _INTERRUPTED if m.status == "interrupted" else ""
        _say(f"{m.created_at.astimezone():%Y-%m-%d %H:%M}  {m.speaker}: {m.text}{mark}")


# -- memory ----------------------------------------------------------------------


@cli.group()
def memory() -> None:
    """See, search, correct and forget what your companion remembers."""


def _memory_app(ctx: click.Context) -> App:
    return _open(ctx)


def _print_hits(hits: list[Hit], as_json: bool) -> None:
    if as_json:
        _say(json.dumps([h.to_dict() for h in hits], ensure_ascii=False, indent=2))
        return
    if not hits:
        _say("Nothing found.")
    for hit in hits:
        old = "" if hit.current else " (no longer true)"
        _say(f"{hit.id}  {hit.kind:8} {hit.time.astimezone():%Y-%m-%d}  {hit.text}{old}")


@memory.command("search")
@click.argument("query")
@click.option("--k", default=10, show_default=True, type=click.IntRange(1, 1000))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of hits.")
@click.option(
    "--now",
    metavar="ISO-TIME",
    help="Read time words as if asked at this moment (default: now), e.g. 2024-05-20T18:00.",
)
@click.pass_context
def memory_search(ctx: click.Context, query: str, k: int, as_json: bool, now: str | None) -> None:
    """Find what is remembered about QUERY (time words like 'last Tuesday' narrow it)."""
    with _errors_as_messages():
        try:
            moment = datetime.fromisoformat(now).astimezone() if now else None
        except (ValueError, OverflowError):
            raise InputError(f"--now {now!r} is not an ISO 8601 time in range.") from None
        hits = _memory_app(ctx).memory.search(query, k, now=moment)
    _print_hits(hits, as_json)


@memory.command("list")
@click.option(
    "--kind", type=click.Choice(["fact", "episode", "profile"]), default="fact", show_default=True
)
@click.option("--all", "show_all", is_flag=True, help="Include facts that are no longer true.")
@click.option("-n", "--limit", default=50, show_default=True, type=click.IntRange(1, 1_000_000))
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def memory_list(ctx: click.Context, kind: str, show_all: bool, limit: int, as_json: bool) -> None:
    """List facts (default), recent episodes, or the core profile."""
    with _errors_as_messages():
        mem = _open(ctx).memory
        if kind == "fact":
            hits = [fact.as_hit() for fact in mem.facts(include_superseded=show_all)][-limit:]
        elif kind == "episode":
            hits = [
                Hit(m.id, "episode", m.text, m.created_at, 0.0, (m.id,), speaker=m.speaker)
                for m in Conversations(mem.db).recent(limit)
            ]
        else:
            profile = mem.profile_hit()
            hits = [profile] if profile else []
    _print_hits(hits, as_json)


@memory.command("show")
@click.argument("item_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def memory_show(ctx: click.Context, item_id: str, as_json: bool) -> None:
    """Everything about one remembered item, with the messages it comes from."""
    with _errors_as_messages():
        detail = _open(ctx).memory.describe(item_id)
        if detail is None:
            raise InputError(f"Nothing is remembered with the id {item_id!r}.")
    if as_json:
        _say(json.dumps(detail, ensure_ascii=False, indent=2))
        return
    for key, value in detail.items():
        _say(f"{key}: {value}")


@memory.command("forget")
@click.argument("item_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def memory_forget(ctx: click.Context, item_id: str, as_json: bool) -> None:
    """Forget a message or fact everywhere, with the facts that rested on it."""
    with _errors_as_messages():
        try:
            report = _open(ctx).memory.forget(item_id)
        except KeyError:
            raise InputError(f"Nothing is remembered with the id {item_id!r}.") from None
    if as_json:
        _say(json.dumps(report.__dict__))
    else:
        gone = report.messages + report.facts
        _say(
            f"Forgotten: {', '.join(gone) or item_id}"
            + ("; the profile was updated." if report.profile_changed else ".")
        )


@memory.command("edit")
@click.argument("item_id", metavar="ID")
@click.argument("text")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def memory_edit(ctx: click.Context, item_id: str, text: str, as_json: bool) -> None:
    """Correct what a fact or message says."""
    with _errors_as_messages():
        mem = _open(ctx).memory
        if item_id == "profile":
            raise InputError(
                "The profile is rebuilt from the facts: edit or forget a fact instead.",
                "`os1 memory list` shows the facts.",
            )
        try:
            mem.edit(item_id, check_input(text, 4000))
        except KeyError:
            raise InputError(f"Nothing is remembered with the id {item_id!r}.") from None
        detail = mem.describe(item_id)
    _say(json.dumps(detail, ensure_ascii=False) if as_json else f"Updated {item_id}.")


@memory.command("consolidate")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def memory_consolidate(ctx: click.Context, as_json: bool) -> None:
    """Rebuild the core profile (always in your companion's mind) from what it knows."""
    with _errors_as_messages():
        app = _memory_app(ctx)
        text = app.consolidate()
    _say(json.dumps(app.memory.profile(), ensure_ascii=False) if as_json else text)


@memory.command("export")
@click.argument("path", metavar="FILE")
@click.option("--json", "as_json", is_flag=True, help="Print a summary as JSON.")
@click.pass_context
def memory_export(ctx: click.Context, path: str, as_json: bool) -> None:
    """Write everything your companion knows to FILE as readable JSON (- for stdout)."""
    from os1.memory.transfer import export_all

    with _errors_as_messages():
        app = _open(ctx)
        persona = app.persona()
        data = export_all(app.memory, persona.to_dict() if persona else None)
        text = json.dumps(data, ensure_ascii=False, indent=2)
        if path == "-":
            _say(text)
            return
        try:
            Path(path).write_text(text + "\n", encoding="utf-8")
        except OSError as exc:
            raise InputError(f"Cannot write {path}: {exc.strerror}.") from exc
    summary = {
        "file": path,
        "facts": len(data["facts"]),
        "conversations": len(data["conversations"]),
    }
    _say(
        json.dumps(summary)
        if as_json
        else f"Wrote {summary['conversations']} conversations and {summary['facts']} facts"
        f" to {path}."
    )


@memory.command("import")
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def memory_import(ctx: click.Context, path: str, as_json: bool) -> None:
    """Import conversations from JSON Lines (id, conversation, time, speaker, text)."""
    from os1.memory.transfer import import_jsonl

    with _errors_as_messages():
        app = _open(ctx)
        persona = app.persona()
        report = import_jsonl(
            app.memory,
            Path(path),
            companion_name=persona.companion_name if persona else "",
            progress=None if as_json else stderr_progress("Remembering"),
        )
    if as_json:
        _say(json.dumps(report.__dict__))
    else:
        _say(
            f"Read {report.read} messages: {report.added} new, {report.already_known} already"
            f" known; {report.facts} facts learned."
        )


# -- configuration -----------------------------------------------------------------


@cli.group()
def config() -> None:
    """Show or change settings (config.toml in the data directory)."""


@config.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@click.pass_context
def config_show(ctx: click.Context, as_json: bool) -> None:
    """Every setting, its value, and where the value comes from."""
    with _errors_as_messages():
        app = _open(ctx)
        sources = setting_sources(app.home, {"model": ctx.obj.get("model")})
    rows = setting_infos()
    values = settings_as_flat(app.settings)
    if as_json:
        payload = {
            "home": str(app.home),
            "config_file": str(app.home / "config.toml"),
            "settings": {
                key: {"value": values[key], "source": sources[key], "env": rows[key].env}
                for key in rows
            },
        }
        _say(json.dumps(payload, indent=2))
        return
    _say(f"# data directory: {app.home}")
    for key, info in rows.items():
        _say(f"{key} = {json.dumps(values[key])}    # {sources[key]}; env {info.env}")


@config.command("set")
@click.argument("key")
@click.argument("value")
@click.pass_context
def config_set(ctx: click.Context, key: str, value: str) -> None:
    """Store KEY = VALUE in config.toml (e.g. `os1 config set model openai:llama3.2`)."""
    with _errors_as_messages():
        home = ensure_home(resolve_home(ctx.obj.get("home")))
        stored = set_setting(home, key, value)
    _say(f"{key} = {json.dumps(stored)}  (saved in {home / 'config.toml'})")


# -- health and speed ----------------------------------------------------------------


@cli.command()
@click.pass_context
def doctor(ctx: click.Context) -> None:
    """Check models, data directory, config and endpoint; print a fix for each problem."""
    from os1.doctor import run_checks

    checks = run_checks(ctx.obj.get("home"), {"model": ctx.obj.get("model")})
    failed = False
    for check in checks:
        mark = "ok  " if check.ok else "FAIL"
        _say(f"[{mark}] {check.name}: {check.detail}")
        if not check.ok:
            failed = True
            if check.fix:
                _say(f"       fix: {check.fix}")
    sys.exit(1 if failed else 0)


@cli.group()
def bench() -> None:
    """Reproducible measurements that print JSON."""


@bench.command("chat")
@click.option("--json", "as_json", is_flag=True, help="Print the full JSON report.")
@click.option("--turns", default=10, show_default=True, help="Conversation turns to time.")
@click.option("--context-tokens", default=1500, show_default=True, help="Prior context size.")
def bench_chat(as_json: bool, turns: int, context_tokens: int) -> None:
    """Time a conversation on the embedded model against plain llama-cpp-python."""
    from os1.bench.chat import run_chat_benchmark

    with _errors_as_messages():
        report = run_chat_benchmark(turns=turns, context_tokens=context_tokens)
    if as_json:
        _say(json.dumps(report, indent=2))
    else:
        summary = report["summary"]
        _say(json.dumps(summary, indent=2))


def _exit_on_signal(signum: int, frame: object) -> None:
    # Raised where the program is, so a reply being streamed is stored as far as it got.
    sys.exit(128 + signum)


@bench.command("memory")
@click.option("--json", "as_json", is_flag=True, help="Print the full JSON report.")
@click.option("--no-scale", is_flag=True, help="Only the recall evaluation (about 20 s).")
@click.option("--episodes", default=100_000, show_default=True, help="Episodes for the scale test.")
@click.option("--facts", default=20_000, show_default=True, help="Facts for the scale test.")
def bench_memory(as_json: bool, no_scale: bool, episodes: int, facts: int) -> None:
    """Recall@5/@10 on the evaluation set vs BM25, and search speed at 100k episodes."""
    from os1.bench.memory import run_memory_benchmark

    with _errors_as_messages():
        report = run_memory_benchmark(scale=not no_scale, episodes=episodes, facts=facts)
    _say(json.dumps(report if as_json else report["summary"], indent=2))


@bench.command("skills")
@click.option("--json", "as_json", is_flag=True, help="Print the full JSON report.")
@click.option("--misses", is_flag=True, help="List every case the parser got wrong.")
def bench_skills(as_json: bool, misses: bool) -> None:
    """Intent accuracy and exact times of the request parser (reminders, calendar), dev
    and held-out halves."""
    from os1.bench.skills import SUITES, run_skills_bench

    report = run_skills_bench(show_misses=misses)
    if not as_json:
        report = {suite: report[suite] for suite in SUITES}
        for suite in report.values():
            for part in suite.values():
                part.pop("per_intent", None)
    _say(json.dumps(report, indent=2))


@bench.command("replies")
@click.option("--json", "as_json", is_flag=True, help="Print the full JSON report.")
@click.option("--replies", "show_replies", is_flag=True, help="Include every reply said.")
@click.pass_context
def bench_replies(ctx: click.Context, as_json: bool, show_replies: bool) -> None:
    """Reply quality on the configured model (--model): OS1's companion against plain
    prompting, dev and held-out parts (about 3 minutes on the embedded model)."""
    from os1.bench.replies import run_replies_bench

    with _errors_as_messages():
        app = _open(ctx)
        report = run_replies_bench(app.llm, show_replies=show_replies)
    if not as_json:
        for split in ("dev", "heldout"):
            report[split]["ours"].pop("failures", None)
            report[split]["plain_prompting"].pop("failures", None)
    _say(json.dumps(report, indent=2))


@bench.command("voice")
@click.option("--json", "as_json", is_flag=True, help="Print the full JSON report.")
@click.option(
    "--voice",
    "voice_specs",
    multiple=True,
    metavar="SPEC",
    help="Voice(s) to hold the conversation with (default: female and male).",
)
@click.option(
    "--speech",
    metavar="DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="Recordings with a transcripts.tsv (default: ../shared/fixtures/speech).",
)
def bench_voice(as_json: bool, voice_specs: tuple[str, ...], speech: Path | None) -> None:
    """Voice-to-voice latency, barge-in, STT and voice word error rates (about 4 minutes)."""
    from os1.bench.voice import run_voice_benchmark

    with _errors_as_messages():
        report = run_voice_benchmark(voices=voice_specs or ("female", "male"), speech_dir=speech)
    _say(json.dumps(report if as_json else report["summary"], indent=2))


@bench.command("server")
@click.option("--json", "as_json", is_flag=True, help="Print the full JSON report.")
@click.option("--sessions", default=100, show_default=True, help="WebSocket text sessions.")
@click.option("--messages", default=300, show_default=True, help="Messages sent in all.")
@click.option("--rate", default=5.0, show_default=True, help="Messages a second, in all.")
@click.option("--no-voice", is_flag=True, help="Skip the spoken turns on the embedded model.")
@click.option("--voice-turns", default=5, show_default=True, help="Spoken turns to time.")
@click.option(
    "--speech",
    metavar="DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="Recordings with a transcripts.tsv (default: ../shared/fixtures/speech).",
)
def bench_server(
    as_json: bool,
    sessions: int,
    messages: int,
    rate: float,
    no_voice: bool,
    voice_turns: int,
    speech: Path | None,
) -> None:
    """The server's added latency and memory with many devices, and a spoken turn over a
    WebSocket (about 2 minutes; the voice part loads models for 20-40 s)."""
    from os1.bench.server import run_server_benchmark

    with _errors_as_messages():
        report = run_server_benchmark(
            sessions=sessions,
            messages=messages,
            rate=rate,
            voice=not no_voice,
            voice_turns=voice_turns,
            speech_dir=speech,
        )
    _say(json.dumps(report if as_json else report["summary"], indent=2))


cli.add_command(talk)
cli.add_command(voices)
cli.add_command(serve)
cli.add_command(pair)
cli.add_command(devices)
cli.add_command(remind)
cli.add_command(reminders)
cli.add_command(actions)
cli.add_command(calendar)
cli.add_command(followups)


def main() -> None:
    os.umask(0o077)  # everything OS1 writes is readable by this user only
    signal.signal(signal.SIGTERM, _exit_on_signal)
    signal.signal(signal.SIGHUP, _exit_on_signal)
    try:
        cli.main(prog_name="os1", standalone_mode=False)
    except click.exceptions.Abort:
        _say("\nInterrupted.", err=True)
        sys.exit(130)
    except BrokenPipeError:
        # The reader went away (`os1 ask ... | head`): stop quietly.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(141)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
