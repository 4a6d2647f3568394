"""Independent writes side by side: a few forked processes, the outcomes reported in order.

A local sync writes one ``.xlsx`` per school, and each write is CPU work
(the lossless edit, deflating the new parts) ending in an ``fsync``: files
that share nothing. ``in_order`` hands them to a few forked workers and
yields each item's outcome in the items' order, as writing them one after
another would, while the caller (the parent) keeps everything else: the
state file, the progress shown, what is reported.

Fork safety: a worker is forked only from a parent with no other thread
(a thread holding a lock at the fork would leave it held in the child; then
the work is done in-process, one item after another, as it is with one core
or one item). Workers get the items by inheritance (nothing is pickled but an
index and an outcome), never touch the parent's state file or streams, and
leave with ``os._exit``: no buffered output flushed twice, no exit handler
run twice. A worker that dies leaves its unfinished items to the parent, who
does them itself; a parent that stops early (its own failure) lets each
worker finish what it was handed (at most ``AHEAD`` items) and waits for it.
"""

from __future__ import annotations

import gc
import os
import threading
import traceback
from dataclasses import dataclass
from multiprocessing.connection import Connection, Pipe, wait
from typing import Any, Callable, Generator, Generic, Sequence, TypeVar

from pipeline.errors import PublishError, SourceError, StateWriteError

T = TypeVar("T")
#: An item's outcome: done (None), or the error that stopped it (that item's problem alone).
Outcome = PublishError | SourceError | None

#: Never more workers than this, whatever the machine: a write is short, and each worker costs a fork.
MAX_WORKERS = 4
#: Items handed to a worker ahead of the one it is doing, so it never waits for the parent.
AHEAD = 2


def workers_here() -> int:
    """The processes writes may use here: the CPUs this process may run on, at most ``MAX_WORKERS``."""
    if not hasattr(os, "fork"):
        return 1
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, MAX_WORKERS))


def one_by_one(work: Callable[[T], None], items: Sequence[T]) -> Generator[Outcome, None, None]:
    """Each item's outcome, done in this process one after another."""
    for item in items:
        yield attempt(work, item)


def attempt(write: Callable[..., None], *args: Any) -> Outcome:
    """Make one write: None, or the ``PublishError``/``SourceError`` that stopped it (the state file's own
    failure, and anything else, is the caller's)."""
    try:
        write(*args)
    except StateWriteError:
        raise
    except (PublishError, SourceError) as exc:
        return exc
    return None


def in_order(work: Callable[[T], None], items: Sequence[T], workers: int | None = None) -> Generator[Outcome, None, None]:
    """Each item's outcome in order, the items done by up to ``workers`` forked processes (default
    ``workers_here``); in this process when one would do (one worker, one item) or forking is unsafe."""
    count = min(workers_here() if workers is None else workers, len(items))
    if count <= 1 or threading.active_count() > 1:
        yield from one_by_one(work, items)
        return
    yield from _Pool(work, items, count).outcomes()


@dataclass
class _Worker:
    pid: int
    conn: Connection
    #: indexes handed to it and not yet reported
    given: list[int]


class _Crash(Exception):
    """What a worker reports when its item raised something other than an item's error."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class _Pool(Generic[T]):
    def __init__(self, work: Callable[[T], None], items: Sequence[T], count: int) -> None:
        self.work = work
        self.items = items
        self.count = count
        self.workers: list[_Worker] = []
        self.next = 0  # the next item not yet handed out
        self.results: dict[int, Outcome | BaseException] = {}
        self.orphans: set[int] = set()  # items of a worker that died: done here

    def outcomes(self) -> Generator[Outcome, None, None]:
        try:
            self._start()
            reported = 0
            while reported < len(self.items):
                if reported not in self.results and reported not in self.orphans:
                    self._collect()
                    continue
                if reported in self.orphans:
                    outcome: Outcome | BaseException = attempt(self.work, self.items[reported])
                else:
                    outcome = self.results.pop(reported)
                if isinstance(outcome, BaseException) and not isinstance(outcome, (PublishError, SourceError)):
                    raise outcome
                reported += 1
                if reported == len(self.items):
                    self._stop()  # nothing left for them: gone before the caller goes on
                yield outcome
        finally:
            self._stop()

    def _start(self) -> None:
        gc.freeze()  # the parent's objects stay out of the workers' collections: their pages stay shared
        try:
            for _ in range(self.count):
                mine, theirs = Pipe()
                try:
                    pid = os.fork()
                except OSError:  # no more processes allowed: those started (or this one) do the work
                    mine.close()
                    theirs.close()
                    break
                if pid == 0:  # pragma: no cover - runs in the worker (coverage is the parent's)
                    self._serve(theirs, mine)
                worker = _Worker(pid, mine, [])
                theirs.close()
                self.workers.append(worker)
                for _ in range(AHEAD):
                    self._hand(worker)
        finally:
            gc.unfreeze()

    def _serve(self, conn: Connection, parent_end: Connection) -> None:  # pragma: no cover - in the worker
        """A worker's life: do the items handed to it until the parent closes its end; never return."""
        code = 0
        try:
            parent_end.close()
            for other in self.workers:  # else a sibling's end stays open and it never sees the parent stop
                other.conn.close()
            while True:
                try:
                    index = conn.recv()
                except EOFError:
                    break
                try:
                    outcome: Outcome | BaseException = attempt(self.work, self.items[index])
                except Exception as exc:  # the parent raises it, as doing the item itself would have
                    exc.add_note("raised in a writing process:\n" + "".join(traceback.format_exception(exc)))
                    outcome = exc
                try:
                    conn.send((index, outcome))
                except Exception:  # an exception that does not pickle: its text goes instead
                    conn.send((index, _Crash("".join(traceback.format_exception(outcome)))))
        except BaseException:
            code = 1
        finally:
            os._exit(code)

    def _hand(self, worker: _Worker) -> None:
        if self.next < len(self.items):
            try:
                worker.conn.send(self.next)
            except OSError:  # it died: ``_collect`` finds out and takes back what it had
                return
            worker.given.append(self.next)
            self.next += 1

    def _collect(self) -> None:
        """Wait for any worker's next outcome (or its death: its items are then the parent's)."""
        if not self.workers:
            self.orphans.update(range(self.next, len(self.items)))
            self.next = len(self.items)
            return
        ready = wait([w.conn for w in self.workers])
        for worker in [w for w in self.workers if w.conn in ready]:
            try:
                index, outcome = worker.conn.recv()
            except (EOFError, OSError):
                self.orphans.update(worker.given)
                self._drop(worker)
                continue
            worker.given.remove(index)
            self.results[index] = outcome
            self._hand(worker)

    def _drop(self, worker: _Worker) -> None:
        self.workers.remove(worker)
        worker.conn.close()
        try:
            os.waitpid(worker.pid, 0)
        except ChildProcessError:  # pragma: no cover - already reaped
            pass

    def _stop(self) -> None:
        """Close every worker's line (each finishes the item in hand, then leaves) and wait for them."""
        for worker in list(self.workers):
            self._drop(worker)
