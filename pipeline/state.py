"""The state file: what devplan remembers between runs (SQLite, one file per area).

- ``sources``: per spreadsheet, the ``modifiedTime`` of the version last read and
  the rows of every tab read then, so an unchanged spreadsheet is not read again;
- ``published``: per spreadsheet devplan writes, the fingerprint of what it
  wrote last (run date left out) and the version (Google ``modifiedTime``, or a
  local file's mtime and size) that followed that write: an unchanged tab in an
  untouched spreadsheet is not written again, and devplan's own write is not
  taken for a staff edit on the next run;
- ``own_tabs``: for Google, the ``sheetId`` of each tab devplan made (and marked
  as its own, see ``pipeline.workbook.google``) and how many conditional-format
  rules it put at the top of it, so the tab is rewritten in one request that
  also deletes those rules; a lost state file costs one look at each
  spreadsheet, never a tab: the mark on the tab itself tells devplan's own;
- ``sheet_ids`` and ``own_rules``: the same, kept by devplan before its tabs
  carried a mark; still read, so a tab recorded there is known as devplan's;
- ``seen``: for Google, the ID and title each spreadsheet key was last found
  under in the folder, and when, so a spreadsheet renamed, moved or deleted
  since is reported as what happened to it, not as one to create.

- ``unit_outputs``: per unit, a digest of what its outputs were last made from (its summary
  without the run's date, devplan's code, templates and settings, the date's fiscal phase), the
  fingerprints of the summary tab and e-mail they made, and the outbox file written then (its
  ``file_version``): a unit whose outputs cannot have changed is not rendered again
  (``pipeline.unchanged``); a state file without it renders every unit;
- ``tab_outputs``: the same for each tab of the dashboard (what it was made from, its fingerprint),
  so a dashboard tab whose inputs did not change is neither rendered nor written again;
- ``sending``: a message handed to the SMTP server whose answer is not logged yet
  (a run killed at that moment leaves it, and the next run does not resend blindly);
- ``sent``: the send log, one row per e-mail the SMTP server accepted: unit,
  recipient, content hash (of the message without its run date), time and the
  server's answer; ``test`` marks messages sent to a test address (``--to``),
  which do not count as sent to the director. A message left in doubt that the
  office confirmed arrived (``devplan confirm-sent``) is a row too, marked by
  ``confirmed_at`` (when a person said so; its time is when it was handed to
  the server, and it has no server answer): it is not a send.

- ``runs``: the run history, one row per ``sync`` or ``check`` (failed ones
  too), shown by ``devplan status`` (see ``pipeline.history``); its text is
  masked before it is stored (no national ID is kept there).
- ``meta``: small facts about the state file itself: when this state file last
  mailed the directors (``last_mailing``) and the last mailing the dashboard
  says happened (``dashboard_mailing``, see ``pipeline.deliver``): a state file
  whose send log misses a mailing the dashboard records (deleted, moved aside,
  restored from an older backup) does not send until told to (``--new-state``).

A state file SQLite reports as damaged (``PRAGMA quick_check``) is refused and
never used; a write the disk refuses (full, read-only, no permission) is a
``PublishError`` naming the file and the real cause.

Later parts add their own tables here; the schema is created
on open and only ever grows.
"""

from __future__ import annotations

import contextlib
import errno
import json
import sqlite3
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from pipeline.errors import ConfigError, PipelineError, StateWriteError, write_failed
from pipeline.workbook import CellError, Table

SCHEMA = """
CREATE TABLE IF NOT EXISTS sources (
    spreadsheet TEXT NOT NULL,
    tab TEXT NOT NULL,
    modified TEXT NOT NULL,
    rows TEXT NOT NULL,
    PRIMARY KEY (spreadsheet, tab)
);
CREATE TABLE IF NOT EXISTS sheet_ids (
    spreadsheet TEXT NOT NULL,
    tab TEXT NOT NULL,
    sheet_id INTEGER NOT NULL,
    PRIMARY KEY (spreadsheet, tab)
);
CREATE TABLE IF NOT EXISTS own_rules (
    spreadsheet TEXT NOT NULL,
    tab TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (spreadsheet, tab)
);
CREATE TABLE IF NOT EXISTS seen (
    spreadsheet TEXT PRIMARY KEY,
    file_id TEXT NOT NULL,
    title TEXT NOT NULL,
    seen_on TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS own_tabs (
    spreadsheet TEXT NOT NULL,
    tab TEXT NOT NULL,
    sheet_id INTEGER NOT NULL,
    rules INTEGER NOT NULL,
    PRIMARY KEY (spreadsheet, tab)
);
CREATE TABLE IF NOT EXISTS published (
    spreadsheet TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    version TEXT,
    written_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS unit_outputs (
    unit TEXT PRIMARY KEY,
    made_from TEXT NOT NULL,
    spreadsheet TEXT NOT NULL,
    tab TEXT NOT NULL,
    letter TEXT,
    eml TEXT
);
CREATE TABLE IF NOT EXISTS tab_outputs (
    spreadsheet TEXT NOT NULL,
    tab TEXT NOT NULL,
    made_from TEXT,
    fingerprint TEXT NOT NULL,
    PRIMARY KEY (spreadsheet, tab)
);
CREATE TABLE IF NOT EXISTS sending (
    unit TEXT PRIMARY KEY,
    recipient TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    started_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sent (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    unit TEXT NOT NULL,
    recipient TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    sent_at TEXT NOT NULL,
    answer TEXT NOT NULL,
    test INTEGER NOT NULL DEFAULT 0,
    confirmed_at TEXT
);
CREATE INDEX IF NOT EXISTS sent_by_unit ON sent (unit, test, id);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class UnitOutputs:
    """What one unit's outputs were last made from, and what they were."""

    #: the digest of everything they depend on (``pipeline.unchanged.made_from``)
    made_from: str
    #: the spreadsheet its summary tab was written to, and that tab's fingerprint (``publish.fingerprint``)
    spreadsheet: str
    tab: str
    #: its e-mail's content hash (the send log's), or None when no e-mail could be addressed to it
    letter: str | None
    #: the outbox file then written, as ``local_files.file_version`` gives it; None when none was
    eml: str | None


@dataclass(frozen=True)
class SentMail:
    """One row of the send log."""

    unit: str
    recipient: str
    content_hash: str
    sent_at: datetime
    answer: str
    test: bool = False
    #: when the office confirmed that this message, left in doubt, arrived (then it was not a send); else None
    confirmed_at: datetime | None = None


#: one row per run of ``sync`` or ``check``: when, how long, how it ended, and what it did
RUNS_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    started_at TEXT NOT NULL,
    seconds REAL NOT NULL,
    exit_code INTEGER NOT NULL,
    details TEXT NOT NULL
);
"""


@dataclass
class RunRecord:
    """One run as the history keeps it; ``details`` is what ``pipeline.history`` measured."""

    kind: str
    started_at: datetime
    seconds: float
    exit_code: int
    details: dict[str, Any] = field(default_factory=dict)
    number: int | None = None


class State:
    """An open state file. Every change is committed at once: a killed run loses nothing written."""

    def __init__(self, path: str | Path | None) -> None:
        self.path = Path(path) if path else None
        target = str(self.path) if self.path else ":memory:"
        existed = self.path is not None and self.path.exists() and self.path.stat().st_size > 0
        if self.path:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise write_failed(self.path.parent, exc, "โฟลเดอร์ของไฟล์สถานะ", StateWriteError) from exc
        try:
            self.db = sqlite3.connect(target, timeout=30, isolation_level=None, factory=_Connection)
        except sqlite3.Error as exc:
            raise state_error(self.path, exc) from exc
        self.db.state_path = self.path
        try:
            if existed:
                self._refuse_if_damaged()
            self.db.execute("PRAGMA journal_mode=WAL" if self.path else "PRAGMA journal_mode=MEMORY")
            # Each commit survives a killed run; only the send log's also waits for the disk (``_durable``),
            # so a power cut may cost cached reads or write records (read or written again), never a send.
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(SCHEMA)
            self._grow()
        except BaseException:
            self.db.close()
            raise

    def _grow(self) -> None:
        """Add the columns a state file written by an older devplan lacks (looked at again under the
        write lock, so two runs opening it at once do not both add one)."""
        def lacks() -> bool:
            return "confirmed_at" not in {row[1] for row in self.db.execute("PRAGMA table_info(sent)").fetchall()}

        if lacks():
            with self._transaction():
                if lacks():
                    self.db.execute("ALTER TABLE sent ADD COLUMN confirmed_at TEXT")

    def _refuse_if_damaged(self) -> None:
        """Stop on a state file SQLite finds damaged: its send log cannot be trusted, so it is never used."""
        found = [row[0] for row in self.db.execute("PRAGMA quick_check").fetchall()]
        if found != ["ok"]:
            raise damaged(self.path, "; ".join(str(f) for f in found[:3]))

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "State":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- sources ---------------------------------------------------------------

    def cached_tabs(self, spreadsheet: str, modified: str, tabs: list[str]) -> dict[str, Table] | None:
        """The rows of ``tabs`` read at version ``modified``, or None if any is missing or older."""
        found: dict[str, Table] = {}
        for tab in tabs:
            row = self.db.execute(
                "SELECT rows FROM sources WHERE spreadsheet=? AND tab=? AND modified=?",
                (spreadsheet, tab, modified),
            ).fetchone()
            if row is None:
                return None
            found[tab] = _decode(row[0])
        return found

    def store_tabs(self, spreadsheet: str, modified: str, tabs: Mapping[str, Table]) -> None:
        with self._transaction():
            self.db.execute("DELETE FROM sources WHERE spreadsheet=?", (spreadsheet,))
            self.db.executemany(
                "INSERT INTO sources (spreadsheet, tab, modified, rows) VALUES (?, ?, ?, ?)",
                [(spreadsheet, tab, modified, _encode(rows)) for tab, rows in tabs.items()],
            )

    def retag_source(self, spreadsheet: str, old: str, new: str) -> None:
        """Keep rows read at version ``old`` under ``new``: devplan's own write made it."""
        self.db.execute(
            "UPDATE sources SET modified=? WHERE spreadsheet=? AND modified=?", (new, spreadsheet, old)
        )

    # -- devplan's own tabs ----------------------------------------------------

    def own_tab(self, spreadsheet: str, tab: str) -> tuple[int, int] | None:
        """(sheetId, conditional rules devplan put at its top) of devplan's marked tab ``tab``."""
        row = self.db.execute(
            "SELECT sheet_id, rules FROM own_tabs WHERE spreadsheet=? AND tab=?", (spreadsheet, tab)
        ).fetchone()
        return (int(row[0]), int(row[1])) if row else None

    def record_own_tab(self, spreadsheet: str, tab: str, sheet_id: int, rules: int) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO own_tabs (spreadsheet, tab, sheet_id, rules) VALUES (?, ?, ?, ?)",
            (spreadsheet, tab, sheet_id, rules),
        )

    def legacy_sheet_id(self, spreadsheet: str, tab: str) -> int | None:
        """The sheetId devplan recorded for its tab before its tabs carried a mark."""
        row = self.db.execute(
            "SELECT sheet_id FROM sheet_ids WHERE spreadsheet=? AND tab=?", (spreadsheet, tab)
        ).fetchone()
        return row[0] if row else None

    def record_seen(self, spreadsheet: str, file_id: str, title: str, when: date) -> None:
        """Spreadsheet key ``spreadsheet`` was found as file ``file_id`` titled ``title`` on ``when``."""
        self.db.execute(
            "INSERT OR REPLACE INTO seen (spreadsheet, file_id, title, seen_on) VALUES (?, ?, ?, ?)",
            (spreadsheet, file_id, title, when.isoformat()),
        )

    def last_seen(self, spreadsheet: str) -> tuple[str, str, date] | None:
        """(file ID, title, date) the key was last found under, or None if it never was."""
        row = self.db.execute(
            "SELECT file_id, title, seen_on FROM seen WHERE spreadsheet=?", (spreadsheet,)
        ).fetchone()
        return (row[0], row[1], date.fromisoformat(row[2])) if row else None

    def published(self, spreadsheet: str) -> tuple[str, str | None] | None:
        """(fingerprint, version) of devplan's last write to ``spreadsheet``."""
        row = self.db.execute(
            "SELECT fingerprint, version FROM published WHERE spreadsheet=?", (spreadsheet,)
        ).fetchone()
        return (row[0], row[1]) if row else None

    def record_published(self, spreadsheet: str, fingerprint: str, version: str | None = None) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO published (spreadsheet, fingerprint, version, written_at) VALUES (?, ?, ?, ?)",
            (spreadsheet, fingerprint, version, datetime.now().isoformat(timespec="seconds")),
        )

    def record_version(self, spreadsheet: str, version: str) -> None:
        """The version that followed devplan's own write (known only after the run's writes)."""
        self.db.execute("UPDATE published SET version=? WHERE spreadsheet=?", (version, spreadsheet))

    # -- what each unit's outputs were made from -----------------------------------

    def unit_outputs(self) -> dict[str, UnitOutputs]:
        """Unit code -> what its outputs were last made from and what they were (``pipeline.unchanged``)."""
        rows = self.db.execute("SELECT unit, made_from, spreadsheet, tab, letter, eml FROM unit_outputs").fetchall()
        return {row[0]: UnitOutputs(*row[1:]) for row in rows}

    def record_unit_outputs(self, made: Mapping[str, UnitOutputs], dropped: Iterable[str] = ()) -> None:
        """Remember ``made`` (unit code -> its outputs) and forget ``dropped``, in one transaction."""
        with self._transaction():
            self.db.executemany("DELETE FROM unit_outputs WHERE unit=?", [(code,) for code in dropped])
            self.db.executemany(
                "INSERT OR REPLACE INTO unit_outputs (unit, made_from, spreadsheet, tab, letter, eml) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [(code, o.made_from, o.spreadsheet, o.tab, o.letter, o.eml) for code, o in made.items()],
            )

    def tab_outputs(self, spreadsheet: str) -> dict[str, tuple[str | None, str]]:
        """Tab -> (what it was made from, its fingerprint), for devplan's last write of ``spreadsheet``."""
        rows = self.db.execute(
            "SELECT tab, made_from, fingerprint FROM tab_outputs WHERE spreadsheet=?", (spreadsheet,)
        ).fetchall()
        return {tab: (made_from, print_) for tab, made_from, print_ in rows}

    def record_tab_outputs(self, spreadsheet: str, tabs: Mapping[str, tuple[str | None, str]]) -> None:
        """Remember ``tabs`` (tab -> (made from, fingerprint)) as all of ``spreadsheet``'s (none: forget them)."""
        with self._transaction():
            self.db.execute("DELETE FROM tab_outputs WHERE spreadsheet=?", (spreadsheet,))
            self.db.executemany(
                "INSERT INTO tab_outputs (spreadsheet, tab, made_from, fingerprint) VALUES (?, ?, ?, ?)",
                [(spreadsheet, tab, made, print_) for tab, (made, print_) in tabs.items()],
            )

    # -- the send log -----------------------------------------------------------

    def record_sent(
        self, unit: str, recipient: str, content_hash: str, answer: str,
        *, test: bool = False, when: datetime | None = None,
    ) -> None:
        """Log one message the server accepted; committed at once, so a killed run loses none."""
        moment = (when or datetime.now()).isoformat(timespec="seconds")
        with self._durable(), self._transaction():
            self.db.execute(
                "INSERT INTO sent (unit, recipient, content_hash, sent_at, answer, test) VALUES (?, ?, ?, ?, ?, ?)",
                (unit, recipient, content_hash, moment, answer, int(test)),
            )
            if not test:
                self.db.execute("DELETE FROM sending WHERE unit=?", (unit,))

    def mark_sending(self, unit: str, recipient: str, content_hash: str) -> None:
        """Note, before handing a message to the server, that it is on its way.

        If the run dies before the server's answer is logged, the next run finds
        this mark and does not send the same message again blindly: it may have
        arrived. Mail is sent at most once; the doubt is reported to a person.
        """
        with self._durable():
            self.db.execute(
                "INSERT OR REPLACE INTO sending (unit, recipient, content_hash, started_at) VALUES (?, ?, ?, ?)",
                (unit, recipient, content_hash, datetime.now().isoformat(timespec="seconds")),
            )

    def unconfirmed(self, unit: str) -> tuple[str, str, str] | None:
        """(recipient, content hash, when) of a send to ``unit`` that was never confirmed."""
        row = self.db.execute(
            "SELECT recipient, content_hash, started_at FROM sending WHERE unit=?", (unit,)
        ).fetchone()
        return (row[0], row[1], row[2]) if row else None

    def clear_sending(self, unit: str) -> None:
        self.db.execute("DELETE FROM sending WHERE unit=?", (unit,))

    def confirm_sent(self, unit: str, when: datetime | None = None) -> SentMail | None:
        """A person has checked that ``unit``'s message in doubt reached its director: log it as that
        director's last message, marked as confirmed at ``when`` (not a send), and it is in doubt no more.
        None when nothing to ``unit`` is in doubt (nothing is changed)."""
        moment = (when or datetime.now()).isoformat(timespec="seconds")
        with self._transaction():
            pending = self.unconfirmed(unit)
            if pending is None:
                return None
            recipient, content_hash, started_at = pending
            self.db.execute(
                "INSERT INTO sent (unit, recipient, content_hash, sent_at, answer, test, confirmed_at) "
                "VALUES (?, ?, ?, ?, '', 0, ?)",
                (unit, recipient, content_hash, started_at, moment),
            )
            self.db.execute("DELETE FROM sending WHERE unit=?", (unit,))
        return self.last_sent(unit)

    def last_sent(self, unit: str) -> SentMail | None:
        """The last message sent to ``unit``'s director, or confirmed to have reached them (test sends do not count)."""
        row = self.db.execute(
            "SELECT unit, recipient, content_hash, sent_at, answer, test, confirmed_at FROM sent "
            "WHERE unit=? AND test=0 ORDER BY id DESC LIMIT 1",
            (unit,),
        ).fetchone()
        return _sent(row) if row else None

    # -- what the state file knows of the area's mailings ------------------------

    def set_meta(self, key: str, value: str | None) -> None:
        """Keep (or, None, drop) a small fact."""
        if value is None:
            self.db.execute("DELETE FROM meta WHERE key=?", (key,))
        else:
            self._set_meta(key, value)

    def meta(self, key: str) -> str | None:
        """A small fact the state file keeps (``meta`` table), or None."""
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def _set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def last_mailing(self) -> datetime | None:
        """When this state file last mailed the directors (or began to): its own note, or its send log's
        newest row (a state file from before the note was kept); None if it never did."""
        noted = self.meta("last_mailing")
        row = self.db.execute("SELECT MAX(sent_at) FROM sent WHERE test=0").fetchone()
        times = [datetime.fromisoformat(t) for t in (noted, row[0] if row else None) if t]
        return max(times) if times else None

    def note_mailing(self, when: datetime) -> None:
        """Before mail goes out: this state file's send log accounts for the area's mail up to ``when``."""
        last = self.last_mailing()
        if last is None or when > last:
            with self._durable():
                self._set_meta("last_mailing", when.isoformat(timespec="seconds"))

    def dashboard_read(self) -> bool:
        """Whether this state file has read the dashboard's record of the last mailing."""
        return self.meta("dashboard_read") is not None

    def dashboard_mailing(self) -> datetime | None:
        """The latest mailing the dashboard was seen to record (None: none, or never read)."""
        seen = self.meta("dashboard_mailing")
        return datetime.fromisoformat(seen) if seen else None

    def note_dashboard_mailing(self, when: datetime | None) -> None:
        """What the dashboard says of the last mailing; a later one seen before is kept."""
        seen = self.dashboard_mailing()
        with self._transaction():
            if when is not None and (seen is None or when > seen):
                self._set_meta("dashboard_mailing", when.isoformat(timespec="seconds"))
            self._set_meta("dashboard_read", "1")

    # -- the run history --------------------------------------------------------

    def record_run(self, run: "RunRecord") -> int:
        """Add one finished (or failed) run of ``sync`` or ``check``; its row id."""
        self.db.executescript(RUNS_SCHEMA)
        cursor = self.db.execute(
            "INSERT INTO runs (kind, started_at, seconds, exit_code, details) VALUES (?, ?, ?, ?, ?)",
            (run.kind, run.started_at.isoformat(timespec="seconds"), run.seconds, run.exit_code,
             json.dumps(run.details, ensure_ascii=False, default=str)),
        )
        return int(cursor.lastrowid or 0)

    def rewrite_run(self, number: int, details: dict[str, Any]) -> None:
        """Replace the details of run ``number`` (an older version's row, masked afterwards)."""
        self.db.execute("UPDATE runs SET details=? WHERE id=?",
                        (json.dumps(details, ensure_ascii=False, default=str), number))

    def runs(self, last: int = 10, after: int = 0) -> list["RunRecord"]:
        """The last ``last`` runs (of those numbered above ``after``), newest first."""
        self.db.executescript(RUNS_SCHEMA)
        rows = self.db.execute(
            "SELECT id, kind, started_at, seconds, exit_code, details FROM runs WHERE id > ? ORDER BY id DESC LIMIT ?",
            (after, max(0, last)),
        ).fetchall()
        return [
            RunRecord(kind, datetime.fromisoformat(started), seconds, code, json.loads(details), number)
            for number, kind, started, seconds, code, details in rows
        ]

    def _transaction(self) -> Any:
        return _Transaction(self.db)

    @contextlib.contextmanager
    def _durable(self) -> Iterator[None]:
        """Commits here wait until the disk has them (the send log: a power cut must not hide a send)."""
        self.db.execute("PRAGMA synchronous=FULL")
        try:
            yield
        finally:
            self.db.execute("PRAGMA synchronous=NORMAL")


class _Connection(sqlite3.Connection):
    """A connection whose failures are a person's errors: the disk full, no permission, a damaged file."""

    state_path: Path | None = None

    def execute(self, *args: Any) -> sqlite3.Cursor:
        try:
            return super().execute(*args)
        except sqlite3.Error as exc:
            raise state_error(self.state_path, exc) from exc

    def executemany(self, *args: Any) -> sqlite3.Cursor:
        try:
            return super().executemany(*args)
        except sqlite3.Error as exc:
            raise state_error(self.state_path, exc) from exc

    def executescript(self, *args: Any) -> sqlite3.Cursor:
        try:
            return super().executescript(*args)
        except sqlite3.Error as exc:
            raise state_error(self.state_path, exc) from exc


def damaged(path: Path | None, detail: str) -> ConfigError:
    """A state file SQLite cannot trust: refused, with advice that mails nobody twice."""
    return ConfigError(
        f"ไฟล์สถานะ {path} เสียหาย (SQLite: {detail}) devplan จึงไม่ใช้ไฟล์นี้และยังไม่ได้ทำสิ่งใด",
        f"ไฟล์นี้เก็บบันทึกว่าส่งอีเมลถึงผู้อำนวยการคนใดแล้ว อย่าลบทิ้ง: คืนไฟล์จากสำเนาสำรองล่าสุด แล้วสั่งรันใหม่ "
        f"หรือย้ายไฟล์ไปไว้ที่อื่น (เช่น mv {path} {path}.damaged) แล้วสั่งรันใหม่: devplan จะสร้างไฟล์สถานะใหม่ "
        "และอ่านสเปรดชีตทั้งหมดใหม่หนึ่งครั้ง; ถ้าแดชบอร์ดบันทึกว่าเคยส่งอีเมลแล้ว จะไม่ส่งอีเมลจนกว่าจะสั่ง "
        "sync --send --new-state (ซึ่งส่งสรุปผลถึงผู้อำนวยการทุกคนที่ไฟล์สถานะใหม่ไม่มีบันทึก บางคนอาจได้รับซ้ำ)",
    )


def state_error(path: Path | None, exc: sqlite3.Error) -> PipelineError:
    """What an SQLite failure on the state file means for a person (exit 4 for a refused write)."""
    code = exc.sqlite_errorcode & 0xFF
    if code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        return damaged(path, str(exc))
    place = path or Path.cwd()
    if code == sqlite3.SQLITE_FULL:
        return write_failed(place, OSError(errno.ENOSPC, str(exc)), "ไฟล์สถานะ", StateWriteError)
    if code in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_IOERR,
                sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return write_failed(place, OSError(None, f"SQLite: {exc}"), "ไฟล์สถานะ", StateWriteError)
    return ConfigError(
        f"ใช้ไฟล์สถานะ {path} ไม่ได้ (SQLite: {exc})",
        "ส่งข้อความนี้ให้ผู้ดูแลระบบ; อย่าลบไฟล์สถานะ (เก็บบันทึกว่าส่งอีเมลถึงใครแล้ว)",
    )


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: Any, *rest: Any) -> None:
        self.db.execute("ROLLBACK" if kind else "COMMIT")


def _sent(row: tuple[Any, ...]) -> SentMail:
    unit, recipient, content_hash, sent_at, answer, test, confirmed_at = row
    return SentMail(unit, recipient, content_hash, datetime.fromisoformat(sent_at), answer, bool(test),
                    datetime.fromisoformat(confirmed_at) if confirmed_at else None)


def _encode(rows: Table) -> str:
    return json.dumps(rows, ensure_ascii=False, default=_default, separators=(",", ":"))


def _default(value: Any) -> Any:
    if isinstance(value, (datetime, date, time)):
        return {"$dt": value.isoformat(), "$kind": type(value).__name__}
    if isinstance(value, CellError):
        return {"$error": value.code}
    raise TypeError(f"cannot store {type(value).__name__} in the state file")


def _decode(text: str) -> Table:
    def hook(obj: dict[str, Any]) -> Any:
        if "$error" in obj:
            return CellError(obj["$error"])
        if "$dt" in obj:
            parse = {"datetime": datetime.fromisoformat, "date": date.fromisoformat,
                     "time": time.fromisoformat}[obj["$kind"]]
            return parse(obj["$dt"])
        return obj

    return json.loads(text, object_hook=hook)

