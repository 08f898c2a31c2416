"""Errors a user can hit. Each says what happened and what to do about it."""

from __future__ import annotations


class OS1Error(Exception):
    """Base class for errors shown to the user as a message, not a traceback.

    ``exit_code`` is what the CLI exits with when this error ends a command.
    """

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n{self.hint}"

    def one_line(self) -> str:
        """The message and the hint as one line (for a device or an API client)."""
        return f"{self.message} {self.hint}" if self.hint else self.message


class ConfigError(OS1Error):
    """The configuration file or a setting is invalid."""

    exit_code = 2


class InputError(OS1Error):
    """The user's input cannot be used as it is (empty, too long, not UTF-8)."""

    exit_code = 2


class NotSetUpError(OS1Error):
    """The companion has not been through onboarding yet."""


class ModelError(OS1Error):
    """A model could not be found, loaded or installed."""


class LLMUnavailableError(OS1Error):
    """The language model server could not be reached or answered badly."""

    exit_code = 3


class AudioError(OS1Error):
    """Audio could not be read, played or recorded (bad file, no device)."""

    exit_code = 2
