"""Independent writes side by side: a few forked processes, the outcomes reported in order.

A local sync writes one ``.xlsx`` per school, and each write is CPU work
(the lossless edit, deflating the new parts) ending in an ``fsync``: files
that share nothing. ``in_order`` starts a few forked workers at once, each
writing its share (every n-th item), and gives each item's outcome in the
items' order, as writing them one after another would, while the caller
(the parent) keeps everything else: the state file, the progress shown,
what is reported, and any work of its own meanwhile.

Fork safety: a worker is forked only from a parent with no other Python
thread (a thread holding a lock at the fork would leave it held in the child;
then the work is done in-process, one item after another, as it is with one
core or one item; the idle pool a native library may keep, as numpy's
OpenBLAS does, readies itself for a fork, and workers do not use it). Workers get the items by inheritance (nothing is pickled but an
index, an outcome and the item's small result), never touch the parent's state file or streams, and
leave with ``os._exit``: no buffered output flushed twice, no exit handler
run twice. A worker that dies leaves the rest of its share to the parent, who
does it itself; a parent that stops early (its own failure) closes the
workers' lines, and each finishes the item in hand and leaves.
"""

from __future__ import annotations

import gc
import os
import sys
import threading
import traceback
from multiprocessing.connection import Connection, Pipe
from typing import Any, Callable, Generator, Generic, Iterable, Sequence, TypeVar

from pipeline.errors import PublishError, SourceError, StateWriteError

T = TypeVar("T")
#: What an item's work returns when done (small, picklable: it comes back from a worker), for the parent's ``then``.
R = TypeVar("R")
#: An item's outcome: done (None), or the error that stopped it (that item's problem alone).
Outcome = PublishError | SourceError | None

#: Never more workers than this, whatever the machine: a write is short, and each worker costs a fork.
MAX_WORKERS = 4


class Outcomes:
    """Each item's outcome, in the items' order, as they are done; ``close()`` when done with it (even
    early): what is still to start is not started, what is under way ends, and no process is left."""

    def __init__(self, each: Generator[Outcome, None, None], stop: Callable[[], None] = lambda: None) -> None:
        self._each = each
        self._stop = stop

    def __iter__(self) -> "Outcomes":
        return self

    def __next__(self) -> Outcome:
        return next(self._each)

    def close(self) -> None:
        self._each.close()
        self._stop()


def workers_here() -> int:
    """The processes writes may use here: the CPUs this process may run on, at most ``MAX_WORKERS``; one
    (this process) but on Linux (no fork on Windows; macOS's system libraries are not safe to fork)."""
    if not sys.platform.startswith("linux"):
        return 1
    return max(1, min(len(os.sched_getaffinity(0)), MAX_WORKERS))


def one_by_one(work: Callable[[T], Any], items: Sequence[T], then: Callable[[T, Any], None] | None = None) -> Outcomes:
    """Each item's outcome, done in this process one after another as the outcomes are read; ``then``
    (item, what its work returned) for each item done, before its outcome is given."""

    def each() -> Generator[Outcome, None, None]:
        for item in items:
            outcome, result = _attempt(work, item)
            if outcome is None and then is not None:
                then(item, result)
            yield outcome

    return Outcomes(each())


def attempt(write: Callable[..., None], *args: Any) -> Outcome:
    """Make one write: None, or the ``PublishError``/``SourceError`` that stopped it (the state file's own
    failure, and anything else, is the caller's)."""
    return _attempt(write, *args)[0]


def _attempt(write: Callable[..., R], *args: Any) -> tuple[Outcome, R | None]:
    """``attempt``, with what the write returned when it is done."""
    try:
        result = write(*args)
    except StateWriteError:
        raise
    except (PublishError, SourceError) as exc:
        return exc, None
    return None, result


def in_order(work: Callable[[T], Any], items: Sequence[T], workers: int | None = None,
             then: Callable[[T, Any], None] | None = None) -> Outcomes:
    """Each item's outcome in order, the items done from now on by up to ``workers`` forked processes
    (default ``workers_here``); in this process, as they are read, when one would do (one worker, one
    item) or forking is unsafe. ``then(item, result)`` runs here, in this process, for each item done,
    with what its work returned (wherever it ran), before the item's outcome is given."""
    count = min(workers_here() if workers is None else workers, len(items))
    if count <= 1 or threading.active_count() > 1:
        return one_by_one(work, items, then)
    pool = _Pool(work, items, count, then)
    return Outcomes(pool.outcomes(), pool.stop)


class _Crash(Exception):
    """What a worker reports when its item raised an exception that does not pickle: the traceback's text."""


class _Pool(Generic[T]):
    """Workers started at once, worker ``w`` doing items ``w``, ``w + n``, ``w + 2n``, ... in turn."""

    def __init__(self, work: Callable[[T], Any], items: Sequence[T], count: int,
                 then: Callable[[T, Any], None] | None = None) -> None:
        self.work = work
        self.items = items
        self.then = then
        #: worker number -> (pid, the parent's end of its line); None once it has left (its share is then ours)
        self.workers: list[tuple[int, Connection] | None] = []
        gc.freeze()  # the parent's objects stay out of the workers' collections: their pages stay shared
        try:
            for number in range(count):
                mine, theirs = Pipe()
                try:
                    pid = os.fork()
                except OSError:  # no more processes allowed: the shares of those not started are ours
                    mine.close()
                    theirs.close()
                    self.workers += [None] * (count - number)
                    break
                if pid == 0:  # pragma: no cover - runs in the worker (coverage is the parent's)
                    self._serve(number, count, theirs, mine)
                theirs.close()
                self.workers.append((pid, mine))
        finally:
            gc.unfreeze()

    def outcomes(self) -> Generator[Outcome, None, None]:
        try:
            for index, item in enumerate(self.items):
                outcome, result = self._outcome(index, item)
                if outcome is None and self.then is not None:
                    self.then(item, result)
                if index == len(self.items) - 1:
                    self.stop()  # nothing left for them: gone before the caller goes on
                yield outcome
        finally:
            self.stop()

    def _outcome(self, index: int, item: T) -> tuple[Outcome, Any]:
        """The item's outcome, with what its work returned."""
        number = index % len(self.workers)
        worker = self.workers[number]
        if worker is not None:
            try:
                reported, outcome, result = worker[1].recv()
            except (EOFError, OSError):  # it died: the rest of its share is done here
                self._leave(number)
            else:
                assert reported == index
                if isinstance(outcome, BaseException) and not isinstance(outcome, (PublishError, SourceError)):
                    raise outcome
                return outcome, result
        return _attempt(self.work, item)

    def _serve(self, number: int, count: int, conn: Connection, parent_end: Connection) -> None:  # pragma: no cover
        """A worker's life (in the worker): its share, each outcome sent as it is done, until the share ends
        or the parent closes the line; never returns."""
        code = 0
        try:
            # A line stays open while any process holds a copy of the parent's end: the worker's own copy,
            # and those of the siblings forked before it, are closed, so the parent's close is seen.
            parent_end.close()
            for other in self.workers:
                if other is not None:
                    other[1].close()
            for index in range(number, len(self.items), count):
                result = None
                try:
                    outcome: Outcome | BaseException
                    outcome, result = _attempt(self.work, self.items[index])
                except Exception as exc:  # the parent raises it, as doing the item itself would have
                    exc.add_note("raised in a writing process:\n" + "".join(traceback.format_exception(exc)))
                    outcome = exc
                try:
                    conn.send((index, outcome, result))
                except (BrokenPipeError, ConnectionResetError):
                    break  # the parent stopped early
                except Exception:  # an exception (or a result) that does not pickle: its text goes instead
                    conn.send((index, _Crash("".join(traceback.format_exception(outcome))) if isinstance(
                        outcome, BaseException) else _Crash(f"a result that does not pickle: {result!r}"), None))
        except BaseException:
            code = 1
        finally:
            os._exit(code)

    def _leave(self, number: int) -> None:
        self._cut([number])

    def stop(self) -> None:
        """Close every worker's line (each finishes the item in hand, then leaves) and wait for them."""
        self._cut(range(len(self.workers)))

    def _cut(self, numbers: Iterable[int]) -> None:
        """Close these workers' lines, all before waiting for any (a worker waited for while another's line
        is still open lets that one go on with its share)."""
        leaving = [(number, worker) for number in numbers if (worker := self.workers[number]) is not None]
        for number, (_, conn) in leaving:
            self.workers[number] = None
            conn.close()
        for _, (pid, _) in leaving:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:  # pragma: no cover - already reaped
                pass
