"""``os1 serve``, ``os1 pair`` and ``os1 devices``: the companion on your phone and computers."""

from __future__ import annotations

import json

import click

from os1.errors import InputError
from os1.skills.calendar_sync import calendar_loop
from os1.skills.scheduler import reminder_ticker
from os1.terminal import errors_as_messages, fail, open_app, say


@click.command()
@click.option(
    "--local",
    is_flag=True,
    help="Serve plain HTTP on this computer only (127.0.0.1), not HTTPS on the network.",
)
@click.option(
    "--host", metavar="ADDRESS", help="Address to listen on (default: all, or 127.0.0.1)."
)
@click.option("--port", type=click.IntRange(0, 65535), help="Port (default 8443, or 8080 --local).")
@click.option("--no-pair", is_flag=True, help="Do not print a pairing code at start.")
@click.pass_context
def serve(
    ctx: click.Context, local: bool, host: str | None, port: int | None, no_pair: bool
) -> None:
    """Serve your companion to your phone and other computers (pair them with the code)."""
    import uvicorn

    from os1.errors import ConfigError
    from os1.server.app import create_app
    from os1.server.hub import Hub
    from os1.server.runner import (
        pairing_note,
        plan,
        read_runtime,
        remove_runtime,
        uvicorn_config,
        write_runtime,
    )

    with errors_as_messages():
        app = open_app(ctx)
        persona = app.require_persona()
        running = read_runtime(app.home)
        if running is not None:
            raise ConfigError(
                f"{persona.companion_name} is already being served at {running['url']} "
                f"(process {running['pid']}).",
                "Use that one (`os1 pair` pairs a device with it), or stop it first.",
            )
        listening = plan(app.home, local=local, host=host, port=port)
        listening.check_free()
        hub = Hub(app)
        say(f"Getting {persona.companion_name} ready...", err=True)
        hub.prepare()  # the model loads now: a problem is a message, not a traceback
        web = create_app(
            hub,
            on_alert=lambda text: say(text, err=True),
            allowed_hosts=listening.allowed_hosts(),
        )
        say(f"{persona.companion_name} is being served at {listening.url}", err=True)
        if listening.certificate is not None:
            say(
                "The certificate is this computer's own; your browser will ask you to trust it.\n"
                f"Its SHA-256 fingerprint: {listening.certificate.fingerprint}",
                err=True,
            )
        else:
            say("Plain HTTP, on this computer only (use it at that address).", err=True)
        if not no_pair:
            say(pairing_note(listening.url, hub.devices.new_code()), err=True)
        certificate = listening.certificate
        fingerprint = certificate.fingerprint if certificate is not None else None
        runtime = write_runtime(app.home, listening.url, fingerprint)
        # Reminders fire into the conversation, which every connected device is shown.
        ticker = reminder_ticker(app, lambda text: say(text, err=True))
        syncing = calendar_loop(app)  # with the CalDAV server, if one is set up
        try:
            uvicorn.Server(uvicorn_config(web, listening)).run()
        finally:
            if ticker is not None:
                ticker.stop()
            if syncing is not None:
                syncing.stop()
            remove_runtime(runtime)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the code and address as JSON.")
@click.pass_context
def pair(ctx: click.Context, as_json: bool) -> None:
    """Make a code to pair a new device with the running server (valid 5 minutes, once)."""
    from os1.server.devices import Devices, show_code
    from os1.server.runner import pairing_note, pairing_url, read_runtime

    with errors_as_messages():
        app = open_app(ctx)
        code = Devices(app.db, app.clock).new_code()
        running = read_runtime(app.home)
    url = running["url"] if running else None
    if as_json:
        say(
            json.dumps(
                {
                    "code": show_code(code),
                    "url": pairing_url(url, code) if url else None,
                    "server_running": running is not None,
                }
            )
        )
        return
    if url is None:
        say(f"Pairing code: {show_code(code)} (works once, for 5 minutes).")
        say("No server is running: start one with `os1 serve`, then enter the code.")
        return
    say(pairing_note(url, code))


@click.group()
def devices() -> None:
    """The phones and computers paired with your companion."""


@devices.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include revoked devices.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def devices_list(ctx: click.Context, show_all: bool, as_json: bool) -> None:
    """List paired devices."""
    from os1.server.devices import Devices

    with errors_as_messages():
        app = open_app(ctx)
        found = Devices(app.db, app.clock).list(include_revoked=show_all)
    if as_json:
        say(json.dumps([d.to_dict() for d in found], indent=2))
        return
    if not found:
        say("No devices are paired. Run `os1 serve` and scan its code with your phone.")
    for device in found:
        seen = (
            device.last_seen_at.astimezone().strftime("%Y-%m-%d %H:%M")
            if device.last_seen_at
            else "never"
        )
        state = "  (revoked)" if not device.active else ""
        say(f"{device.id}  {device.name:<28} last seen {seen}{state}")


@devices.command("revoke")
@click.argument("device_id")
@click.pass_context
def devices_revoke(ctx: click.Context, device_id: str) -> None:
    """Revoke a device: its token stops working at once."""
    from os1.server.devices import Devices

    with errors_as_messages():
        app = open_app(ctx)
        revoked = Devices(app.db, app.clock).revoke(device_id)
    if revoked is None:
        fail(InputError(f"No paired device {device_id!r}.", "See `os1 devices list`."))
    say(f"Revoked {revoked.name} ({revoked.id}).")
