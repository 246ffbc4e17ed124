"""Exceptions lrviz raises; the CLI maps each family to an exit code (see DESIGN.md)."""

from __future__ import annotations


class LrvizError(Exception):
    """Base class: something lrviz was asked to do cannot be done."""

    exit_code = 2


class SpecError(LrvizError, ValueError):
    """Schedule parameters are missing, out of range or inconsistent."""


class ConfigError(LrvizError, ValueError):
    """A configuration file cannot be read or does not mean what it seems to."""


class EnvironmentUnavailable(LrvizError):
    """The environment cannot run the request (an optional package or a device is missing)."""

    exit_code = 3
