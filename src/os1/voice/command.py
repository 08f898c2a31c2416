"""``os1 talk``: a voice conversation through the microphone, or through WAV files."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import click

from os1.skills.scheduler import reminder_ticker
from os1.terminal import INTERRUPTED_MARK, errors_as_messages, fail, open_app, say


@click.command()
@click.option(
    "--in",
    "inputs",
    multiple=True,
    metavar="WAV",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Speak this WAV file as a turn (repeat for more turns) instead of the microphone.",
)
@click.option(
    "--out",
    "out_dir",
    metavar="DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="With --in: write the companion's replies here as WAV files.",
)
@click.option("--json", "as_json", is_flag=True, help="Print transcripts and timings as JSON.")
@click.option("--voice", metavar="SPEC", help="female | male | /path/voice.onnx | kokoro:STYLE")
@click.option("--stt", "stt_model", metavar="MODEL", help="tiny.en | base | /path/to/model")
@click.option("--new", "new_conversation", is_flag=True, help="Start a new conversation.")
@click.pass_context
def talk(
    ctx: click.Context,
    inputs: tuple[Path, ...],
    out_dir: Path | None,
    as_json: bool,
    voice: str | None,
    stt_model: str | None,
    new_conversation: bool,
) -> None:
    """Talk with your companion by voice (just speak; talk over it to interrupt)."""
    from os1.errors import InputError
    from os1.voice.pipeline import VoiceRun, load_parts

    if out_dir is not None and not inputs:
        fail(InputError("--out needs --in: it collects the replies to the WAV files."))
    with errors_as_messages():
        app = open_app(ctx)
        companion = app.companion()
        settings = app.settings.voice
        overrides: dict[str, Any] = {}
        if voice:
            overrides["voice"] = voice
        if stt_model:
            overrides["stt_model"] = stt_model
        if overrides:
            settings = settings.model_copy(update=overrides)
        run = VoiceRun(companion, settings, app.settings.models_path())
        if inputs:
            run.use_files(list(inputs), out_dir)
        else:
            run.use_devices()
        parts = load_parts(
            settings, companion.persona.voice, app.settings.models_path(), quiet=as_json
        )
        if new_conversation:
            run.conversation_id = companion.conversations.start()
        if not as_json:
            header = (
                f"{companion.persona.companion_name} · {companion.llm.info.name} · "
                f"voice {parts.tts.name} · hearing with {parts.stt.name}"
            )
            say(header if inputs else header + "\n(Just speak. Ctrl-C leaves.)", err=True)
        # Live, reminders are shown in the terminal and said aloud as they come due.
        ticker = None
        if not inputs:
            ticker = reminder_ticker(app, lambda text: say(text, err=True), speak=run.announce)
        try:
            report = asyncio.run(run.converse(parts, printer=None if as_json else _Printer()))
        except KeyboardInterrupt:
            say("\nGoodbye.", err=True)
            return
        finally:
            if ticker is not None:
                ticker.stop()
    if as_json:
        say(json.dumps(report, ensure_ascii=False, indent=2))
    failed = [turn for turn in report["turns"] if turn["status"] == "failed"]
    if failed:
        sys.exit(1)


class _Printer:
    """The live transcript in the terminal."""

    def __init__(self) -> None:
        self._open_reply = False

    def user(self, text: str, final: bool) -> None:
        if final:
            self._end_reply()
            say(f"you: {text}")

    def reply(self, name: str, text: str) -> None:
        if not self._open_reply:
            say(f"{name}: ", nl=False)
            self._open_reply = True
        say(text, nl=False)

    def interrupted(self, heard: str, resumed: bool) -> None:
        if resumed:
            return
        self._end_reply(INTERRUPTED_MARK)

    def turn_done(self) -> None:
        self._end_reply()

    def _end_reply(self, mark: str = "") -> None:
        if self._open_reply:
            say(mark)
            self._open_reply = False


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.pass_context
def voices(ctx: click.Context, as_json: bool) -> None:
    """The voices your companion can speak with, and which one it uses."""
    from dataclasses import asdict

    from os1.voice.voices import available_voices

    with errors_as_messages():
        app = open_app(ctx)
        persona = app.persona()
    chosen = app.settings.voice.voice or (persona.voice if persona else "")
    rows = [asdict(info) for info in available_voices()]
    if as_json:
        say(json.dumps({"current": chosen, "voices": rows}, ensure_ascii=False, indent=2))
        return
    say(f"Speaking with: {chosen or '(not set up yet)'}  (change: os1 config set voice.voice SPEC)")
    for info in rows:
        mark = f"  [{info['chosen_for']}]" if info["chosen_for"] else ""
        state = "" if info["installed"] else f"  (not installed: {info['install_hint']})"
        say(f"  {info['spec']:<26} {info['gender']:<7} {info['description']}{mark}{state}")
    say("Any Piper voice file works too: os1 config set voice.voice /path/to/voice.onnx")
