"""``devplan init``: a commented config for a new area, from a few answers.

The config has the shape of ``config/demo.toml``: the area and storage come from
the answers; where each source lives, what its columns are called and the fixed
answer lists are copied from the demo config (they follow the area office's
forms, which the sample area copies), so a new area starts from the same
spreadsheets ``make demo`` shows.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Protocol

from pipeline.defaults import DEMO_CONFIG
from pipeline.errors import ConfigError
from pipeline.thai import fiscal_year

if TYPE_CHECKING:
    from pipeline.config import Settings

CONFIG_NAME = "devplan.toml"
DEFAULT_SENDER = "กลุ่มพัฒนาครูและบุคลากรทางการศึกษา <hrd@example.go.th>"
#: where the copied part of the demo config starts and ends
SOURCES_START = "# --- where each source lives"
SOURCES_END = ("# Other names the rosters use for a position", "# --- outputs")


@dataclass(frozen=True)
class Answers:
    name: str
    office_code: str
    fiscal_year: int
    backend: str  # "local" or "google"
    #: local: the folder of .xlsx files
    path: Path | None = None
    #: google: the Drive folder's ID or URL
    folder: str | None = None
    #: google: the service-account key file
    credentials: Path | None = None
    sender: str = DEFAULT_SENDER
    short_name: str = ""


@dataclass(frozen=True)
class Question:
    """One question ``interview`` asks a person, and the flag that answers it without asking."""

    flag: str
    text: str
    default: Any = None
    #: "text", "year" (2500–2700), "where" ("google" or "local"), "folder" or "file" (may be left empty)
    kind: str = "text"


#: how a question is put to a person (``click.prompt`` in the command line); returns the answer
Ask = Callable[[Question], Any]
#: tells the person what is wrong with an answer, before the same question is asked again
Tell = Callable[[str], None]


class Checks(Protocol):
    """What ``init`` can check of an answer as it is typed, against the storage itself: each returns
    what is wrong in Thai (with what to do), or None. ``pipeline.access.AnswerChecks`` is the real one."""

    def key_file(self, path: Path | None) -> str | None:
        """The service-account key (None: ``GOOGLE_APPLICATION_CREDENTIALS``) exists and is one."""
        ...

    def place(self, answers: Answers) -> str | None:
        """The folder (local or Drive) exists, is a folder, and devplan may use it."""
        ...

    def office_code(self, answers: Answers) -> str | None:
        """The office code names a unit of the units roster (None also when the roster cannot be read yet)."""
        ...


def interview(
    ask: Ask, *, folder: Path, force: bool, assume_yes: bool, today: date, name: str | None = None,
    office_code: str | None = None, year: int | None = None, local_path: Path | None = None,
    drive_folder: str | None = None, credentials: Path | None = None, sender: str | None = None,
    checks: Checks | None = None, tell: Tell | None = None,
) -> Answers:
    """The answers ``init`` needs for ``folder``: each from its flag, else asked (``ask``), else, with
    ``assume_yes``, its default; a question without one is a ConfigError naming the flag.

    A typed answer that ``checks`` (or its form) finds wrong is told (``tell``) and that question
    alone is asked again. A flag's value is checked for its form and, for the key file, that it is
    a service-account key (a ConfigError); whether the folder and the office code fit the storage
    is then shown in init's access table, as for any spreadsheet devplan cannot use yet.
    Questions go from where the spreadsheets are to what is in them: the office code is checked
    against the roster. Nothing is asked when ``folder`` already has a config and ``force`` is not given.
    """
    if local_path and drive_folder:
        raise ConfigError("เลือกอย่างใดอย่างหนึ่ง: --local (ไฟล์ .xlsx) หรือ --drive (Google Drive)",
                          "ใส่ --local หรือ --drive อย่างเดียว")
    if (folder / CONFIG_NAME).exists() and not force:
        raise ConfigError(
            f"มีไฟล์ตั้งค่า {folder / CONFIG_NAME} อยู่แล้ว (ไม่เขียนทับ)",
            f"ใช้ไฟล์เดิมต่อได้เลย (devplan check --config {folder / CONFIG_NAME}) หรือสั่ง init ใหม่พร้อม --force เพื่อเขียนทับ",
        )

    def told(problem: str) -> None:
        if tell is not None:
            tell(problem)

    def answer(value: Any, question: Question, check: Callable[[Any], str | None] | None = None) -> Any:
        """The flag's value, else the default (``--yes``), else a typed answer ``check`` finds no fault with."""
        if value is not None:
            return value
        if assume_yes:
            if question.default is None:
                raise ConfigError(f"ใช้ --yes แล้วต้องระบุ {question.flag} ด้วย ({question.text})",
                                  f"ใส่ {question.flag} หรือสั่ง init โดยไม่ใส่ --yes เพื่อตอบคำถาม")
            return question.default
        while True:
            typed = ask(question)
            problem = check(typed) if check else None
            if problem is None:
                return typed
            told(problem)

    name = str(answer(name, Question("--name", "ชื่อสำนักงานเขตพื้นที่"))).strip()
    if office_code is not None and not valid_office_code(office_code):
        raise ConfigError(f"--office-code: '{office_code}' ใช้เป็นรหัสหน่วยงานไม่ได้ (ใช้ตัวอักษรอังกฤษ ตัวเลข . _ -)",
                          "ใส่รหัสของสำนักงานเขตตามแท็บหน่วยงานของทะเบียน (roster)")
    if not local_path and not drive_folder:
        if assume_yes:
            raise ConfigError("ใช้ --yes แล้วต้องระบุ --local โฟลเดอร์ หรือ --drive รหัสโฟลเดอร์",
                              "ใส่ --local โฟลเดอร์ของไฟล์ .xlsx หรือ --drive รหัสหรือลิงก์โฟลเดอร์ Google Drive")
        where = ask(Question("--local/--drive", "สเปรดชีตอยู่ที่ไหน: google = Google Drive, local = ไฟล์ .xlsx ในเครื่องนี้",
                             "google", "where"))
    else:
        where = "local" if local_path else "google"
    base = Answers(name=name, office_code="", fiscal_year=0, backend=where)

    if where == "google":
        if credentials is not None:
            credentials = credentials.expanduser()
            problem = checks.key_file(credentials) if checks else None
            if problem is not None:
                raise ConfigError(f"--credentials: {problem}", "ระบุไฟล์กุญแจ .json ของบัญชีบริการ (ดู Google setup ใน README)")
        elif not assume_yes:
            def key_problem(text: Any) -> str | None:
                path = Path(str(text).strip()).expanduser() if str(text).strip() else None
                return checks.key_file(path) if checks else None

            key = str(answer(None, Question("--credentials", "ไฟล์กุญแจ .json ของบัญชีบริการ (เว้นว่าง: ใช้ "
                                            "GOOGLE_APPLICATION_CREDENTIALS)", "", "file"), key_problem)).strip()
            credentials = Path(key).expanduser() if key else None
        base = replace(base, credentials=credentials)

        def drive_problem(text: Any) -> str | None:
            return checks.place(replace(base, folder=str(text).strip())) if checks else None

        drive_folder = str(answer(drive_folder, Question("--drive", "รหัสหรือลิงก์ของโฟลเดอร์ Google Drive"),
                                  drive_problem)).strip()
        base = replace(base, folder=drive_folder)
    else:
        def local_problem(text: Any) -> str | None:
            return checks.place(replace(base, path=Path(str(text)).expanduser())) if checks else None

        local_path = Path(str(answer(local_path, Question("--local", "โฟลเดอร์ของไฟล์ .xlsx", kind="folder"),
                                     local_problem))).expanduser()
        base = replace(base, path=local_path)

    def code_problem(text: Any) -> str | None:
        code = str(text).strip()
        if not valid_office_code(code):
            return f"'{code}' ใช้เป็นรหัสหน่วยงานไม่ได้ (ใช้ตัวอักษรอังกฤษ ตัวเลข . _ -)"
        return checks.office_code(replace(base, office_code=code)) if checks else None

    office_code = str(answer(office_code, Question("--office-code", "รหัสของสำนักงานเขตในทะเบียนหน่วยงาน"),
                             code_problem)).strip()
    year = int(answer(year, Question("--year", "ปีงบประมาณ (พ.ศ.)", fiscal_year(today), "year")))
    sender = str(answer(sender, Question("--sender", "ผู้ส่งอีเมล (ชื่อ <อีเมล>)", DEFAULT_SENDER)))
    return replace(base, office_code=office_code, fiscal_year=year, sender=sender)


def answers_settings(answers: Answers) -> Settings:
    """The settings a config written from ``answers`` would give, before it is written (init's checks)."""
    from pipeline.config import load_settings

    storage: dict[str, Any] = {"storage.backend": answers.backend, "area.office_code": answers.office_code or "x",
                               "area.name": answers.name or "x"}
    if answers.backend == "local":
        storage["storage.path"] = str(answers.path)
    else:
        storage["storage.folder"] = answers.folder
        if answers.credentials is not None:
            storage["storage.credentials"] = str(answers.credentials)
    return load_settings(DEMO_CONFIG, storage).model_copy(update={"source_file": None})


def _quote(text: str) -> str:
    """A TOML basic string."""
    return json.dumps(text, ensure_ascii=False)


def _shown_path(path: Path, base: Path) -> str:
    """``path`` relative to the config's folder when it is inside it, else absolute."""
    path = path.resolve()
    try:
        return path.relative_to(base.resolve()).as_posix() or "."
    except ValueError:
        return str(path)


def _sources_part() -> str:
    text = DEMO_CONFIG.read_text(encoding="utf-8")
    start = text.find(SOURCES_START)
    ends = [i for i in (text.find(marker) for marker in SOURCES_END) if i > start]
    if start < 0 or not ends:  # pragma: no cover - the shipped demo config has both markers
        raise ConfigError(
            f"อ่านส่วน [sources] และ [vocabulary] จาก {DEMO_CONFIG} ไม่ได้",
            "ติดตั้ง devplan ใหม่ (ไฟล์ config/demo.toml ไม่ครบ)",
        )
    return text[start:min(ends)].rstrip() + "\n"


SPENDING_START = "# What development cost"


def _spending_part() -> str:
    """The demo config's commented [spending] section (the per-teacher allocation, funding sources)."""
    text = DEMO_CONFIG.read_text(encoding="utf-8")
    start, end = text.find(SPENDING_START), text.find(SOURCES_END[1])
    return text[start:end].rstrip() + "\n\n" if 0 <= start < end else ""


def config_text(answers: Answers, folder: Path) -> str:
    """The commented TOML for ``answers``; relative paths are relative to ``folder``."""
    short = answers.short_name or answers.name
    if answers.backend == "local":
        assert answers.path is not None
        storage = (
            "[storage]\n"
            'backend = "local"                    # a folder of .xlsx files, one per spreadsheet (ไฟล์ .xlsx ในเครื่อง)\n'
            f"path = {_quote(_shown_path(answers.path, folder))}\n"
            "# For Google Sheets instead (ถ้าย้ายไปใช้ Google Sheets ดู \"Google setup\" ใน README.md):\n"
            '# backend = "google"\n'
            '# folder = "1AbC..."                 # the Drive folder\'s ID or URL\n'
            '# credentials = "/etc/devplan/key.json"\n'
        )
    else:
        assert answers.folder is not None
        credentials = (
            f"credentials = {_quote(str(answers.credentials.resolve()))}"
            "   # service-account key (กุญแจบัญชีบริการ): keep it outside any shared folder, chmod 600\n"
            if answers.credentials else
            "# credentials = \"/etc/devplan/key.json\"   # else GOOGLE_APPLICATION_CREDENTIALS is used\n"
        )
        storage = (
            "[storage]\n"
            'backend = "google"                   # Google Sheets in one Drive folder (ดู "Google setup" ใน README.md)\n'
            f"folder = {_quote(answers.folder)}   # the Drive folder's ID or URL (รหัสหรือลิงก์โฟลเดอร์)\n"
            + credentials
            + "# Spreadsheets are found by title inside the folder (roster, needs-survey, idplan-<code>,\n"
            "# dashboard); a spreadsheet key below may also be a spreadsheet's ID or URL.\n"
            "# สเปรดชีตหาโดยชื่อในโฟลเดอร์นี้ หรือใส่รหัส/ลิงก์ของสเปรดชีตแทนชื่อได้\n"
            "# [storage.quota]                  # optional: reads_per_minute = 60, writes_per_minute = 60\n"
        )
    return (
        f"# devplan settings for {answers.name}\n"
        "# ไฟล์ตั้งค่า devplan สร้างโดย `devplan init`; แก้ไขได้ตามต้องการ (บรรทัดที่ขึ้นต้นด้วย # คือคำอธิบาย)\n"
        "# Relative paths are relative to this file's folder (ที่อยู่ไฟล์แบบสั้นนับจากโฟลเดอร์ของไฟล์นี้).\n"
        "# Order of precedence: defaults < this file < environment (DEVPLAN_*) < command-line flags.\n"
        "# Next (ขั้นต่อไป): devplan check --config <this file>, then devplan sync --config <this file>\n"
        "\n"
        "[area]\n"
        f"name = {_quote(answers.name)}\n"
        f"short_name = {_quote(short)}   # used in e-mail subjects (ชื่อย่อในหัวเรื่องอีเมล)\n"
        f"office_code = {_quote(answers.office_code)}   # the area office's own code in the units roster (รหัสของสำนักงานเขตในทะเบียนหน่วยงาน)\n"
        f"fiscal_year = {answers.fiscal_year}   # Buddhist era (ปีงบประมาณ พ.ศ.): 1 Oct {answers.fiscal_year - 1} – 30 Sep {answers.fiscal_year}\n"
        "# districts = [\"...\", \"...\"]   # optional: the dashboard's order of districts (ลำดับอำเภอในแดชบอร์ด);\n"
        "#                                # unset: as they appear in the units roster\n"
        "\n"
        + storage
        + '# state = "devplan-state.sqlite"     # what devplan remembers between runs; default beside this file\n'
        "\n"
        "# [indicators]\n"
        "# file = \"indicators.toml\"           # default: the plan's eight indicators, shipped with devplan\n"
        "\n"
        + _sources_part()
        + "\n"
        "# Other names the rosters use for a position: canonical position = [other names].\n"
        "# ชื่อเรียกตำแหน่งอื่น ๆ ในทะเบียน (ไม่ใส่ก็ได้ devplan รู้จักชื่อตำแหน่งตาม ก.ค.ศ. อยู่แล้ว)\n"
        "# [vocabulary.positions]\n"
        "# \"ครูผู้ช่วย\" = [\"ครูผู้ช่วย (ตำแหน่งครูผู้ช่วย)\"]\n"
        "\n"
        + _spending_part()
        + "# --- outputs (ผลลัพธ์) ---------------------------------------------------------\n"
        "\n"
        "[output]\n"
        'summary_tab = "สรุปผล (devplan)"     # written into each unit\'s ID Plan spreadsheet (แท็บที่ devplan เขียน)\n'
        'dashboard = "dashboard"              # the area dashboard spreadsheet\'s key (สเปรดชีตแดชบอร์ดของเขต)\n'
        'outbox = "outbox"                    # .eml files, one per school (อีเมลที่เตรียมไว้ ก่อนส่งจริงด้วย --send)\n'
        "# templates = \"templates\"            # default: the templates shipped with devplan\n"
        "\n"
        "[mail]\n"
        f"sender = {_quote(answers.sender)}\n"
        "# SMTP host, port, user and password come from the environment (ไม่เก็บรหัสผ่านในไฟล์นี้):\n"
        "# DEVPLAN_SMTP_HOST, DEVPLAN_SMTP_PORT, DEVPLAN_SMTP_USER, DEVPLAN_SMTP_PASSWORD.\n"
    )


def write_config(folder: Path, answers: Answers, *, force: bool = False) -> Path:
    """Write ``folder/devplan.toml``; an existing one only with ``force``."""
    path = folder / CONFIG_NAME
    if path.exists() and not force:
        raise ConfigError(
            f"มีไฟล์ตั้งค่า {path} อยู่แล้ว (ไม่เขียนทับ)",
            "ใช้ไฟล์เดิมต่อ (devplan check --config " + str(path) + ") หรือสั่ง init ใหม่พร้อม --force เพื่อเขียนทับ",
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(config_text(answers, folder), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise ConfigError(
            f"เขียนไฟล์ตั้งค่า {path} ไม่ได้ ({exc.strerror or exc})",
            "ตรวจสิทธิ์การเขียนโฟลเดอร์ หรือเลือกโฟลเดอร์อื่น",
        ) from exc
    return path


def valid_office_code(text: str) -> bool:
    return bool(re.fullmatch(r"[0-9A-Za-z._-]{1,40}", text.strip()))
