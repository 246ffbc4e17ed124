"""Exceptions lrviz raises; the CLI maps each family to an exit code (see DESIGN.md)."""

from __future__ import annotations


class LrvizError(Exception):
    """Base class: something lrviz was asked to do cannot be done."""

    exit_code = 2


class SpecError(LrvizError, ValueError):
    """Schedule parameters are missing, out of range or inconsistent."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field  # the ScheduleSpec field the message is about, when it is about one


class ConfigError(LrvizError, ValueError):
    """A configuration file cannot be read or does not mean what it seems to."""


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived while a file was being written: raised so that the temporary file is removed (exit 143)."""


class EnvironmentUnavailable(LrvizError):
    """The environment cannot run the request (an optional package or a device is missing)."""

    exit_code = 3
