"""Errors a user can act on.

Every error carries a Thai message (what went wrong and where) and a Thai hint
(what to do). The CLI catches ``PipelineError`` once, prints both and exits
with ``exit_code``; a traceback is shown only with ``--debug``.
"""

from __future__ import annotations


class PipelineError(Exception):
    """Base of every error devplan reports to a person."""

    exit_code = 1
    #: True when running again later may succeed (network, quota); False when a
    #: person must change something first.
    retryable = False

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\nวิธีแก้: {self.hint}"


class ConfigError(PipelineError):
    """A config file is missing, unreadable, or has a wrong, unknown or missing key."""

    exit_code = 2


class SourceError(PipelineError):
    """A spreadsheet, tab or column the config names cannot be found or read."""

    exit_code = 3


class PublishError(PipelineError):
    """Writing results back to a spreadsheet failed."""

    exit_code = 4


class DeliveryError(PipelineError):
    """Sending e-mail failed (the SMTP server refused or could not be reached)."""

    exit_code = 5
    retryable = True


class BusyError(PipelineError):
    """Another run holds the state file's lock; nothing was done (``--wait`` waits instead)."""

    exit_code = 75  # EX_TEMPFAIL: try again later
    retryable = True


#: Done, but rows or units need a person (counts are printed).
EXIT_NEEDS_PERSON = 1
#: An error devplan did not foresee; rerun with --debug for the traceback.
EXIT_UNEXPECTED = 70
