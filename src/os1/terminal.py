"""Small helpers every command shares: printing, errors as messages, opening the app."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import click

from os1.app import App
from os1.errors import OS1Error

INTERRUPTED_MARK = " [interrupted]"  # after a reply that was cut short


def say(text: str = "", *, err: bool = False, nl: bool = True) -> None:
    click.echo(text, err=err, nl=nl)


def report(error: OS1Error) -> None:
    say(f"Error: {error.message}", err=True)
    if error.hint:
        say(error.hint, err=True)


def fail(error: OS1Error) -> NoReturn:
    report(error)
    sys.exit(error.exit_code)


@contextmanager
def errors_as_messages() -> Iterator[None]:
    try:
        yield
    except OS1Error as error:
        fail(error)


def open_app(ctx: click.Context) -> App:
    options: dict[str, Any] = ctx.obj
    app = App.open(options.get("home"), {"model": options.get("model")})
    ctx.call_on_close(app.close)
    return app
