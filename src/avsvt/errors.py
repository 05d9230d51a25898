"""The project's exception types. The CLI turns any :class:`AvsvtError` into one line and exit 1."""

from __future__ import annotations

from pathlib import Path


class AvsvtError(Exception):
    """Base class of every error caused by user input (files, configs, arguments)."""

    def __init__(self, message: str, *, path: str | Path | None = None) -> None:
        self.path = None if path is None else str(path)
        self.message = message
        super().__init__(f"{self.path}: {message}" if self.path else message)


class DataError(AvsvtError):
    """A data file (audio, video, annotations, notes) is missing or malformed."""


class ConfigError(AvsvtError):
    """A configuration file or option is invalid."""


class CheckpointError(AvsvtError):
    """A checkpoint is missing, truncated, of the wrong kind or unsafe to load."""


class OutputExistsError(AvsvtError):
    """An output file exists and ``--overwrite`` was not given."""
