"""Errors a user can act on.

Every error carries a Thai message (what went wrong and where) and a Thai hint
(what to do). The CLI catches ``PipelineError`` once, prints both and exits
with ``exit_code``; a traceback is shown only with ``--debug``.

Whether trying again helps is decided where the failure happens, not by the
error's class: the Google client retries 429, 408 and 5xx answers itself
(``pipeline.workbook.google_http``), and an error that reaches a person says in
its hint whether to run again later or what to change first.
"""

from __future__ import annotations


class PipelineError(Exception):
    """Base of every error devplan reports to a person."""

    exit_code = 1

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


class NotFinished(PipelineError):
    """The run stopped short of this in time: its deadline passed, or Google asked to wait past it.

    The storage raises it as a ``SourceError`` or ``PublishError`` too, so a unit it reaches is
    left out like any unit whose spreadsheet failed, and named; the dashboard it reaches is left
    as it was. Running again later finishes the work.
    """

    exit_code = 1


class BusyError(PipelineError):
    """Another run holds the state file's lock; nothing was done (``--wait`` waits instead)."""

    exit_code = 75  # EX_TEMPFAIL: try again later


#: Done, but rows or units need a person (counts are printed).
EXIT_NEEDS_PERSON = 1
#: An error devplan did not foresee; rerun with --debug for the traceback.
EXIT_UNEXPECTED = 70
