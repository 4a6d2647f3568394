"""Settings: one typed object, loaded in one written order of precedence.

    defaults < config file (TOML) < environment (DEVPLAN_*) < command-line flags

Relative paths in a config file are relative to that file's folder; paths from
the environment or flags are relative to the current folder. Secrets (SMTP
password, Google key) are read from the environment only, never from TOML.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Callable, Generic, Literal, Mapping, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pipeline import defaults
from pipeline.errors import ConfigError

# Shipped with devplan (package data): used when a config file names none.
DEFAULT_INDICATORS = defaults.INDICATORS
DEFAULT_TEMPLATES = defaults.TEMPLATES

# Environment variable -> dotted settings key. Secrets are read separately.
ENV_OVERRIDES = {
    "DEVPLAN_FISCAL_YEAR": "area.fiscal_year",
    "DEVPLAN_STORAGE_PATH": "storage.path",
    "DEVPLAN_OUTBOX": "output.outbox",
    "DEVPLAN_STATE": "storage.state",
}
PATH_KEYS = (
    "storage.path", "storage.credentials", "storage.state", "output.outbox", "output.templates", "indicators.file",
)
STATE_FILE = "devplan-state.sqlite"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


ColumnsT = TypeVar("ColumnsT", bound=BaseModel)


class AreaSettings(Strict):
    name: str
    short_name: str = ""
    office_code: str
    fiscal_year: int = Field(ge=2500, le=2700)
    districts: list[str] = []


class QuotaSettings(Strict):
    """Client-side pacing of Google requests (Sheets allows 60 reads and 60 writes a minute per user)."""

    reads_per_minute: int = Field(default=60, ge=1, le=6000)
    writes_per_minute: int = Field(default=60, ge=1, le=6000)
    #: the quota's window in seconds (Google's is a minute; an emulator's may be shorter)
    window_seconds: float = Field(default=60.0, gt=0, le=3600)
    #: tries of one request on 429, 408 or 5xx before that spreadsheet is reported as failed
    max_tries: int = Field(default=6, ge=1, le=20)
    #: the first wait after a failed try, doubled each time, in seconds
    backoff_base: float = Field(default=1.0, gt=0, le=60)
    #: the longest single wait between two tries, in seconds (a longer Retry-After from Google is honoured)
    max_backoff: float = Field(default=64.0, gt=0, le=600)
    #: seconds to open a connection to Google, and to wait for an answer once asked (Google's own
    #: limit is 180 s; devplan's requests are answered in seconds, so 60 s of silence means a lost one)
    connect_timeout: float = Field(default=10.0, gt=0, le=180)
    read_timeout: float = Field(default=60.0, gt=0, le=600)
    #: the whole run's limit, in minutes: after it no request goes out, and the schools not yet read
    #: or written are that run's left-out units (a full sync of ~170 schools takes ~4 min at the quota)
    deadline_minutes: float = Field(default=45.0, gt=0, le=24 * 60)


class StorageSettings(Strict):
    backend: Literal["local", "google"] = "local"
    #: local: the folder of .xlsx files
    path: Path | None = None
    #: google: the Drive folder (ID or URL) that holds the spreadsheets
    folder: str | None = None
    #: google: the service-account key file; else GOOGLE_APPLICATION_CREDENTIALS
    credentials: Path | None = None
    #: what devplan remembers between runs; default: devplan-state.sqlite beside the config file
    state: Path | None = None
    #: local: how far one part of an .xlsx (a sheet, an image) may inflate, in MB; a file past it is
    #: that school's problem (a zip bomb is never held in memory). Real school files hold under 1 MB.
    max_part_mb: int = Field(default=200, ge=1, le=4000)
    #: local: how far all parts of one .xlsx together may inflate, in MB
    max_file_mb: int = Field(default=500, ge=1, le=4000)
    quota: QuotaSettings = QuotaSettings()

    @model_validator(mode="after")
    def _where(self) -> "StorageSettings":
        if self.backend == "local" and self.path is None:
            raise ValueError('backend = "local" ต้องระบุ path (โฟลเดอร์ของไฟล์ .xlsx)')
        if self.backend == "google" and not self.folder:
            raise ValueError('backend = "google" ต้องระบุ folder (รหัสหรือลิงก์โฟลเดอร์ Google Drive)')
        return self

    @property
    def location(self) -> str:
        return str(self.path) if self.backend == "local" else f"Google Drive {self.folder}"


class IndicatorFile(Strict):
    file: Path = DEFAULT_INDICATORS


class UnitColumns(Strict):
    code: str
    name: str
    kind: str
    district: str
    director_email: str
    stem: str
    network: str | None = None
    students: str | None = None
    classrooms: str | None = None
    #: optional: the school's 8-digit SMIS code, so a staff row that gives it is mapped
    smis: str | None = None


class StaffColumns(Strict):
    national_id: str
    prefix: str | None = None
    first_name: str
    last_name: str
    position: str
    standing: str | None = None
    unit_code: str
    work_group: str | None = None
    email: str | None = None


#: The survey columns that say who answered; at least one must be set.
SURVEY_IDENTITY = ("national_id", "email", "full_name")


class SurveyColumns(Strict):
    """A Form's response columns. Any identity column may be left out (or set to ""):
    rows are matched by national ID, else e-mail, else name within the unit."""

    timestamp: str
    email: str | None = None
    full_name: str | None = None
    national_id: str | None = None
    unit_name: str | None = None
    position: str | None = None
    topics: str
    methods: str | None = None

    @model_validator(mode="after")
    def _says_who_answered(self) -> "SurveyColumns":
        if not any((getattr(self, key) or "").strip() for key in SURVEY_IDENTITY):
            raise ValueError(
                "ต้องระบุคอลัมน์ที่บอกว่าใครตอบอย่างน้อยหนึ่งคอลัมน์: "
                + ", ".join(SURVEY_IDENTITY) + " (ชื่อหัวคอลัมน์ในแท็บคำตอบของแบบฟอร์ม)"
            )
        return self


class PlanColumns(Strict):
    fiscal_year: str
    national_id: str
    full_name: str
    topic: str
    method: str | None = None
    period: str | None = None
    hours: str | None = None


class RecordColumns(Strict):
    date: str
    national_id: str
    full_name: str
    kind: str
    topic: str
    hours: str | None = None
    status: str
    evidence: str | None = None
    #: optional, and optional in each unit's sheet too (a sheet without it is not a problem): what a
    #: development cost, in baht (ค่าใช้จ่าย), and who paid (แหล่งงบประมาณ); see [spending]
    cost: str | None = None
    funding: str | None = None


#: Record columns a unit's sheet may leave out even when the config names them.
OPTIONAL_RECORD_COLUMNS = ("cost", "funding")


class TabSource(Strict, Generic[ColumnsT]):
    """One tab of one spreadsheet, and what its columns are called."""

    spreadsheet: str
    tab: str
    columns: ColumnsT


class IdPlanSource(Strict):
    spreadsheet: str = "idplan-{code}"
    plan_tab: str
    record_tab: str
    plan_columns: PlanColumns
    record_columns: RecordColumns

    @field_validator("spreadsheet")
    @classmethod
    def _has_code(cls, value: str) -> str:
        if "{code}" not in value:
            raise ValueError("ต้องมี {code} เพื่อแทนรหัสหน่วยงาน เช่น \"idplan-{code}\"")
        return value

    def key_for(self, unit_code: str) -> str:
        return self.spreadsheet.replace("{code}", unit_code)


class OverrideColumns(Strict):
    """Headers of the corrections tab. A row gives the address of a row to correct
    (spreadsheet, tab, row) or a typed name/ID, and the right person's national ID."""

    spreadsheet: str = "สเปรดชีต"
    tab: str = "แท็บ"
    row: str = "แถว"
    typed: str = "ชื่อหรือเลขที่กรอก"
    national_id: str = "เลขประจำตัวประชาชนที่ถูกต้อง"


class OverridesSource(Strict):
    """The office's corrections tab. Read in the same call as the rest of its spreadsheet;
    a missing tab means no corrections (and costs one more read)."""

    #: default: the staff roster's spreadsheet
    spreadsheet: str | None = None
    tab: str = "แก้ไขข้อมูล"
    columns: OverrideColumns = OverrideColumns()


class Sources(Strict):
    units: TabSource[UnitColumns]
    staff: TabSource[StaffColumns]
    survey: TabSource[SurveyColumns]
    idplan: IdPlanSource
    #: the corrections tab; read only when the config has a [sources.overrides] section
    overrides: OverridesSource | None = None

    @model_validator(mode="after")
    def _survey_email_needs_roster_email(self) -> "Sources":
        survey = self.survey.columns
        if survey.email and not survey.national_id and not survey.full_name and not self.staff.columns.email:
            raise ValueError(
                "แบบสำรวจระบุตัวผู้ตอบด้วยอีเมลเท่านั้น จึงต้องตั้ง sources.staff.columns.email "
                "(คอลัมน์อีเมลในทะเบียนบุคลากร) เพื่อจับคู่"
            )
        return self

    @property
    def overrides_spreadsheet(self) -> str:
        return (self.overrides and self.overrides.spreadsheet) or self.staff.spreadsheet

    def roster_reads(self) -> dict[str, list[str]]:
        """Spreadsheet -> the tabs a run reads of it (in one call): the rosters, the survey, the corrections tab."""
        by_sheet: dict[str, list[str]] = {}
        for source in (self.units, self.staff, self.survey):
            by_sheet.setdefault(source.spreadsheet, []).append(source.tab)
        if self.overrides is not None:
            by_sheet.setdefault(self.overrides_spreadsheet, []).append(self.overrides.tab)
        return {sheet: list(dict.fromkeys(tabs)) for sheet, tabs in by_sheet.items()}


class Vocabulary(Strict):
    done_statuses: list[str]
    #: statuses known to mean "not done yet"; any other status is counted as not done and noted
    not_done_statuses: list[str] = [
        "กำลังดำเนินการ", "อยู่ระหว่างดำเนินการ", "ยังไม่ดำเนินการ", "ยังไม่ได้ดำเนินการ", "ยังไม่เสร็จ",
        "วางแผน", "เลื่อน", "ยกเลิก",
    ]
    development_kinds: list[str]
    survey_topics: list[str] = []
    survey_methods: list[str] = []
    #: canonical position → other names for it in the rosters; added to the built-in
    #: ก.ค.ศ. names (pipeline.thai.DEFAULT_POSITIONS), so the section may be left out
    positions: dict[str, list[str]] = {}
    #: canonical topic → other names for it in ID Plans and records; added to the survey's
    #: options (each a topic that also answers to its "Thai (other)" parts), see pipeline.topics
    topics: dict[str, list[str]] = {}

    @model_validator(mode="after")
    def _one_topic_per_alias(self) -> "Vocabulary":
        from pipeline.topics import TopicVocabulary, TopicVocabularyError

        try:
            TopicVocabulary.from_vocabulary(self)
        except TopicVocabularyError as exc:
            raise ValueError(str(exc)) from None
        return self

    @field_validator("positions")
    @classmethod
    def _one_position_per_alias(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        from pipeline.thai import position_key

        return one_owner_per_alias(value, position_key, "ตำแหน่ง")


def one_owner_per_alias(value: dict[str, list[str]], key_of: Callable[[str], str], what: str) -> dict[str, list[str]]:
    """``value`` (canonical name → other names) when no name is empty and each name belongs to one
    canonical name, as ``key_of`` compares names; else a Thai ValueError naming ``what`` (ตำแหน่ง, ...)."""
    owner: dict[str, str] = {}
    for canonical, aliases in value.items():
        if not key_of(canonical):
            raise ValueError(f"ชื่อ{what}หลักต้องไม่ว่าง")
        for alias in [canonical, *aliases]:
            key = key_of(alias)
            if not key:
                raise ValueError(f"ชื่อเรียกอื่นของ{what} '{canonical}' ต้องไม่ว่าง")
            if owner.setdefault(key, canonical) != canonical:
                raise ValueError(
                    f"ชื่อ '{alias}' อยู่ทั้งใน{what} '{owner[key]}' และ '{canonical}' (ให้อยู่ได้{what}เดียว)"
                )
    return value


class SpendingSettings(Strict):
    """What development cost: the per-teacher allocation and the funding sources (แหล่งงบประมาณ).

    Used only when the record tabs carry a cost column (``sources.idplan.record_columns.cost``).
    """

    #: baht per teacher per fiscal year: OBEC's budget for the full-cycle training (the plan's policy ๑)
    allocation: float = Field(default=10000, ge=0, le=10_000_000)
    #: funding sources whose costs are taken from that allocation
    allocation_sources: list[str] = ["งบ สพฐ. (คูปองครู)"]
    #: who receives it (positions, as in [vocabulary.positions]): ข้าราชการครู
    allocation_positions: list[str] = ["ครู", "ครูผู้ช่วย"]
    #: funding source → other spellings; added to the built-in sources (pipeline.money.DEFAULT_FUNDING_SOURCES)
    sources: dict[str, list[str]] = {}

    @field_validator("sources")
    @classmethod
    def _one_source_per_alias(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        from pipeline.money import funding_key

        return one_owner_per_alias(value, funding_key, "แหล่งงบประมาณ")

    @model_validator(mode="after")
    def _allocation_sources_are_known(self) -> "SpendingSettings":
        from pipeline.money import funding_table, read_funding

        table = funding_table(self.sources)
        unknown = [s for s in self.allocation_sources if not read_funding(s, table)[1]]
        if unknown:
            known = ", ".join(dict.fromkeys(table.values()))
            raise ValueError(
                f"allocation_sources มีแหล่งงบประมาณที่ไม่รู้จัก: {', '.join(unknown)} (ที่รู้จัก: {known}; "
                "หรือเพิ่มใน [spending.sources])"
            )
        return self


class OutputSettings(Strict):
    summary_tab: str = "สรุปผล (devplan)"
    dashboard: str = "dashboard"
    outbox: Path
    templates: Path = DEFAULT_TEMPLATES

    @model_validator(mode="after")
    def _summary_tab_is_not_a_source(self) -> "OutputSettings":
        if not self.summary_tab.strip():
            raise ValueError("summary_tab ต้องไม่ว่าง")
        return self


#: mail.cadence words -> days between two messages to one director
CADENCE_DAYS = {"daily": 1, "weekly": 7, "monthly": 30}


class MailSettings(Strict):
    sender: str
    #: at most one message per this many days to a director ("daily", "weekly", "monthly"
    #: or a number of days); unset: whenever their summary changed
    cadence: int | None = None

    @field_validator("cadence", mode="before")
    @classmethod
    def _cadence_days(cls, value: Any) -> Any:
        if value is None or (isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 366):
            return value
        if isinstance(value, str) and value.strip().lower() in CADENCE_DAYS:
            return CADENCE_DAYS[value.strip().lower()]
        raise ValueError('ใช้ "daily", "weekly", "monthly" หรือจำนวนวัน 1–366 (ไม่ระบุ: ส่งเมื่อสรุปผลเปลี่ยน)')


class Settings(Strict):
    """Everything one run needs, after every layer of precedence is applied."""

    area: AreaSettings
    storage: StorageSettings
    indicators: IndicatorFile = IndicatorFile()
    sources: Sources
    vocabulary: Vocabulary
    output: OutputSettings
    mail: MailSettings
    spending: SpendingSettings = SpendingSettings()
    source_file: Path | None = None

    @model_validator(mode="after")
    def _pipeline_tabs_are_not_staff_tabs(self) -> "Settings":
        idplan = self.sources.idplan
        if self.output.summary_tab in (idplan.plan_tab, idplan.record_tab):
            raise ValueError(
                "output.summary_tab ต้องไม่ซ้ำกับแท็บที่บุคลากรกรอก (plan_tab, record_tab)"
            )
        return self

    @model_validator(mode="after")
    def _allocation_positions_are_positions(self) -> "Settings":
        from pipeline.thai import position_key, position_table

        table = position_table(self.vocabulary.positions)
        unknown = [p for p in self.spending.allocation_positions if position_key(p) not in table]
        if unknown:
            raise ValueError(
                f"spending.allocation_positions มีตำแหน่งที่ไม่รู้จัก: {', '.join(unknown)} "
                "(ใช้ชื่อตำแหน่งตาม ก.ค.ศ. เช่น ครู, ครูผู้ช่วย หรือเพิ่มใน [vocabulary.positions])"
            )
        return self


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file, turning every failure into a ConfigError naming the file."""
    if not path.is_file():
        raise ConfigError(
            f"ไม่พบไฟล์ตั้งค่า {path}",
            "ตรวจชื่อไฟล์และโฟลเดอร์ที่ระบุใน --config (ตัวอย่างอยู่ที่ config/demo.toml)",
        )
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"ไฟล์ตั้งค่า {path} เขียนผิดรูปแบบ TOML: {exc}",
            "แก้บรรทัดที่ระบุ (ข้อความต้องอยู่ในเครื่องหมายคำพูด \"...\" และแต่ละคีย์มีได้ครั้งเดียว)",
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"อ่านไฟล์ตั้งค่า {path} ไม่ได้ ({exc})", "ตรวจสิทธิ์การอ่านไฟล์") from exc


#: pydantic error kinds -> Thai wording (the rest keep pydantic's own message)
_THAI_ERRORS = {
    "int_parsing": lambda ctx: "ต้องเป็นตัวเลขจำนวนเต็ม",
    "int_type": lambda ctx: "ต้องเป็นตัวเลขจำนวนเต็ม",
    "int_from_float": lambda ctx: "ต้องเป็นตัวเลขจำนวนเต็ม",
    "float_parsing": lambda ctx: "ต้องเป็นตัวเลข",
    "string_type": lambda ctx: "ต้องเป็นข้อความในเครื่องหมายคำพูด",
    "greater_than_equal": lambda ctx: f"ต้องไม่น้อยกว่า {ctx['ge']}",
    "less_than_equal": lambda ctx: f"ต้องไม่เกิน {ctx['le']}",
    "greater_than": lambda ctx: f"ต้องมากกว่า {ctx['gt']}",
    "literal_error": lambda ctx: f"ต้องเป็นค่าใดค่าหนึ่งต่อไปนี้ {ctx['expected']}",
}


def validation_error(
    path: Path, exc: ValidationError, what: str = "ไฟล์ตั้งค่า", origins: dict[str, str] | None = None
) -> ConfigError:
    """A Thai, one-paragraph ConfigError listing each bad key of ``exc``.

    ``origins`` maps a dotted key to the environment variable or flag its value came
    from: such a problem names that variable or flag, not the file.
    """
    origins = origins or {}
    problems, from_file, named = [], False, []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(ทั้งไฟล์)"
        kind = err["type"]
        origin = next((o for k, o in origins.items() if key == k or key.startswith(k + ".")), None)
        if origin:
            named.append(origin)
            thai = _THAI_ERRORS.get(kind)
            detail = thai(err.get("ctx") or {}) if thai else err["msg"].removeprefix("Value error, ")
            problems.append(f"ค่าของ {origin} ({key}) ไม่ถูกต้อง: {detail} (ได้ {err.get('input')!r})")
            continue
        from_file = True
        if kind == "missing":
            problems.append(f"ขาดคีย์ที่จำเป็น '{key}'")
        elif kind == "extra_forbidden":
            problems.append(f"ไม่รู้จักคีย์ '{key}' (สะกดผิด หรือไม่ได้ใช้แล้ว)")
        else:
            thai = _THAI_ERRORS.get(kind)
            detail = thai(err.get("ctx") or {}) if thai else err["msg"].removeprefix("Value error, ")
            got = err.get("input")
            if isinstance(got, dict):  # a whole table: name it by its id, if any, not by all its keys
                got = f" (id {got['id']!r})" if isinstance(got.get("id"), str) else ""
            else:
                got = f" (ได้ {got!r})"
            problems.append(f"ค่าของ '{key}' ไม่ถูกต้อง: {detail}{got}")
    if not from_file:  # only values from the environment or flags are wrong: the file is fine
        return ConfigError(
            f"ค่าที่ตั้งผ่าน {', '.join(dict.fromkeys(named))} มีปัญหา {len(problems)} จุด: " + "; ".join(problems),
            "แก้ค่าของตัวแปรสภาพแวดล้อมหรือตัวเลือกคำสั่งที่ระบุ แล้วสั่งรันใหม่",
        )
    return ConfigError(
        f"{what} {path} มีปัญหา {len(problems)} จุด: " + "; ".join(problems),
        "แก้คีย์ที่ระบุ (ในไฟล์ หรือในตัวแปรสภาพแวดล้อม/ตัวเลือกคำสั่งที่ระบุชื่อ) แล้วสั่งรันใหม่ "
        "(ดูตัวอย่างครบทุกคีย์ที่ config/demo.toml)",
    )


def load_settings(
    path: str | Path,
    overrides: dict[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    flags: Mapping[str, str] | None = None,
) -> Settings:
    """Settings from ``path``, then ``DEVPLAN_*`` environment, then ``overrides`` (CLI flags).

    ``flags`` names the command-line flag of each override key (``{"area.fiscal_year": "--year"}``),
    so a wrong value is reported under the flag or variable the person typed, not the file.
    """
    path = Path(path).resolve()
    data = read_toml(path)
    base = path.parent
    for key in PATH_KEYS:
        value = _get(data, key)
        if isinstance(value, str):
            _set(data, key, str((base / Path(value).expanduser()).resolve()))
    env = os.environ if environ is None else environ
    layered: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for var, key in ENV_OVERRIDES.items():
        if env.get(var):
            layered[key] = env[var]
            origins[key] = var
    for key, value in (overrides or {}).items():
        if value is not None:
            layered[key] = value
            origins[key] = (flags or {}).get(key) or f"ค่าที่สั่งแทน {key}"
    for key, value in layered.items():
        if key in PATH_KEYS:
            value = str(Path(value).expanduser().resolve())
        _set(data, key, value)
    data["source_file"] = str(path)
    if isinstance(data.get("storage"), dict) and not data["storage"].get("state"):
        data["storage"]["state"] = str(base / STATE_FILE)
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise validation_error(path, exc, origins=origins) from None


def _get(data: dict[str, Any], dotted: str) -> Any:
    node: Any = data
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _set(data: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    node = data
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
