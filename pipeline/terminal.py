"""What the command line does around every command, without click: it masks what a person reads and
words a failure (the Thai message and hint, the exit code; the traceback under ``--debug``).

``pipeline.cli`` prints what these return. Nothing heavy is imported here, so ``devplan --help``
stays instant; what a command reports is written by ``pipeline.present``.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any, Callable, Iterable, NoReturn

#: exit code when the reader of our output went away (`devplan indicators | head -1`), as for SIGPIPE
EXIT_BROKEN_PIPE = 141
#: exit code after Ctrl-C, as a shell gives it
EXIT_INTERRUPTED = 130
INTERRUPTED = "หยุดทำงานตามคำสั่งผู้ใช้"


def masked(text: str, keep: Iterable[Any] = ()) -> str:
    """Text for a person: any number that could be a national ID masked (``keep``: unit codes, not IDs)."""
    from pipeline.thai import mask_ids_in_text, normalize_national_id

    return mask_ids_in_text(text, {normalize_national_id(code) for code in keep})


class MaskingFormatter(logging.Formatter):
    """Log lines as a person reads them: any number that could be a national ID masked."""

    def format(self, record: logging.LogRecord) -> str:
        return masked(super().format(record))


def log_to_stderr(debug: bool, verbose: bool) -> None:
    """Log to stderr, masked: warnings only, every step with ``--verbose``, everything with ``--debug``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(MaskingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    level = logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, handlers=[handler], force=True)


def quiet_stdout() -> None:
    """The reader of stdout has gone: send the rest nowhere, so nothing complains at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def run_command_line(command: Callable[[], Any]) -> None:
    """Run ``command`` (the command line), its output flushed here, not at exit, where a reader that went
    away (a closed pipe) would print a complaint: then the rest goes nowhere, and the exit code says so."""
    try:
        try:
            command()
        finally:
            sys.stdout.flush()
    except BrokenPipeError:
        quiet_stdout()
        sys.exit(EXIT_BROKEN_PIPE)


def leave(code: Any) -> NoReturn:
    """End the process with ``code`` (a ``SystemExit``'s: None is 0, text is printed and is 1) without tearing
    down what the run built: everything is written and flushed, and the exit handlers run (logging's among
    them), but freeing a large area's objects one by one, which the operating system does at once, is left
    out (a quarter of a second after a 165-school sync). Another thread still running gets the ordinary exit,
    which waits for it."""
    import atexit
    import threading

    if isinstance(code, str):
        sys.stderr.write(code + "\n")
        code = 1
    code = 0 if code is None else code
    if threading.active_count() > 1 or not isinstance(code, int):
        sys.exit(code)
    try:
        atexit._run_exitfuncs()  # what a normal exit runs first (logging.shutdown, weakref finalizers, ...)
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):  # a reader gone, a stream closed: as a normal exit, nothing more
                pass
        os._exit(code)


def failure(exc: Exception | KeyboardInterrupt, trace: str = "") -> tuple[str, int]:
    """What to print for an error a command raised ("" for nothing), and the exit code it means.

    A ``PipelineError``: its Thai message and hint, with its exit code (the unit codes it names are shown
    as they are, other long numbers masked). An ``OSError`` from writing anything (the disk full, no
    permission, a read-only file system): a write problem (exit 4) naming the path and the real cause.
    Ctrl-C: that the person stopped it (130); the reader of stdout gone: nothing more on stdout (141).
    Anything else is unforeseen (exit 70): what it was, and to rerun with ``--debug``. ``trace``: the
    traceback (``--debug`` only), printed first; the exit code is the same with or without it.
    """
    from pipeline.errors import EXIT_UNEXPECTED, WRITE_ERRNOS, PipelineError, write_failed

    if isinstance(exc, KeyboardInterrupt):
        return INTERRUPTED, EXIT_INTERRUPTED
    if isinstance(exc, BrokenPipeError):
        quiet_stdout()
        return "", EXIT_BROKEN_PIPE
    error: Exception = exc
    if isinstance(exc, OSError) and exc.errno in WRITE_ERRNOS:
        error = write_failed(exc.filename or Path.cwd(), exc)
    lines = [masked(trace.rstrip())] if trace else []
    if isinstance(error, PipelineError):
        lines.append(masked(f"ข้อผิดพลาด: {error.message}" + (f"\nวิธีแก้: {error.hint}" if error.hint else ""),
                            error.codes))
        return "\n".join(lines), error.exit_code
    lines.append(masked(f"ข้อผิดพลาดที่ไม่คาดคิด: {exc.__class__.__name__}: {exc}") + "\n"
                 "วิธีแก้: สั่งรันอีกครั้งพร้อม --debug (devplan --debug ...) แล้วส่งข้อความทั้งหมดให้ผู้ดูแลระบบ")
    return "\n".join(lines), EXIT_UNEXPECTED
