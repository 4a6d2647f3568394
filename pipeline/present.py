"""What a person reads on the terminal after a command: the run's report, a check's, init's access table.

Plain functions from the library's results to Thai text; ``pipeline.cli`` prints
what they return (masking any number that could be a national ID). Columns are
padded by terminal cells (``layout.text_cells``): Thai vowel and tone marks take none.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from typing import TYPE_CHECKING

from pipeline.deliver import Delivery
from pipeline.errors import EXIT_NEEDS_PERSON, NotFinished, PipelineError
from pipeline.state import SentMail
from pipeline.workbook import RequestCounts
from pipeline.workbook.layout import text_cells

if TYPE_CHECKING:  # not imported by an idle night, which prints its report without pandas (pipeline.idle)
    from pipeline.access import AccessReport
    from pipeline.config import Settings
    from pipeline.sync import SyncResult

REPORT_HEADERS = ("ตัวชี้วัด", "ผ่าน/นับ", "ร้อยละ", "เป้าหมาย", "ผล", "ชื่อ")
REPORT_WIDTHS = (20, 12, 8, 10, 14, 0)
#: rows to fix a check lists one by one; the rest are counted (all are on the dashboard after a sync)
SHOWN_ISSUES = 20


def pad(text: str, width: int) -> str:
    """Left-align ``text`` in ``width`` terminal cells (at least one space after it); 0: as it is."""
    return text + " " * max(1, width - text_cells(text)) if width else text


@dataclass
class Attention:
    """What a person must look at after a run that finished: rows to fix, units left out, problems.

    ``units``: unit code -> why it was left out: its spreadsheet could not be read or
    written (listed in the report above), or no summary could be mailed to it.
    ``unmailed``: those of them left out of the mail only, listed here.
    """

    rows: int
    units: dict[str, str]
    problems: list[str]
    unmailed: dict[str, str] = field(default_factory=dict)
    #: what stops a sync at the dashboard, as a check foresees it (a sync itself stops with its error)
    stops: PipelineError | None = None

    @property
    def exit_code(self) -> int:
        if self.stops is not None:
            return self.stops.exit_code
        return EXIT_NEEDS_PERSON if self.rows or self.units or self.problems else 0

    def lines(self) -> list[str]:
        if not self.exit_code:
            return ["เรียบร้อย: ไม่มีแถวหรือหน่วยงานที่ต้องแก้ไข"]
        out = [f"ปัญหา: {p}" for p in self.problems]
        out += [f"ไม่ได้ส่งถึง {code}: {why}" for code, why in self.unmailed.items()]
        out.append(
            f"ต้องมีคนดูแล: แถวที่ต้องแก้ไข {self.rows} แถว (ดูแท็บ 'ข้อมูลที่ต้องแก้ไข' ในแดชบอร์ด), "
            f"หน่วยงานที่ตกหล่น (ไม่ได้รับอีเมลสรุปผล) {len(self.units)} แห่ง"
            + (f", ปัญหาอื่น {len(self.problems)} เรื่อง" if self.problems else "")
        )
        return out


def needs_a_person(result: SyncResult) -> Attention:
    """Rows that could not be used, units whose director gets no summary, and empty sources."""
    settings = result.settings
    problems = []
    survey = settings.sources.survey
    area = result.area
    if area.counts.survey == 0:
        from_survey = sum(1 for i in area.issues if i.sheet == survey.spreadsheet and i.tab == survey.tab)
        needs = [i for i in result.scores.indicators if i.evidence.rule == "matches_survey_need"]
        rows = {row.id: row for row in area.indicators}
        shown = ", ".join(f"'{i.short_name}' ({i.id}) จึงเป็น {rows[i.id].met}/{rows[i.id].population}" for i in needs)
        why = (
            "มีแต่หัวตาราง ไม่มีคำตอบเลย" if not from_survey
            else f"ไม่มีคำตอบที่ใช้ได้ (ทั้ง {from_survey} แถวต้องแก้ไข)"
        )
        problems.append(
            f"แบบสำรวจ '{survey.spreadsheet}' แท็บ '{survey.tab}' {why}"
            + (f": ตัวชี้วัด {shown} ไม่ใช่ผลจริง" if shown else "")
        )
    dashboard = result.published.dashboard
    if dashboard is not None:
        problems.append(
            f"แดชบอร์ด '{settings.output.dashboard}': {dashboard.message}"
            + (f" (วิธีแก้: {dashboard.hint})" if dashboard.hint else "")
        )
    if result.delivery.refusal:
        problems.append(f"sync --send จะยังไม่ส่งอีเมล: {result.delivery.refusal}")
    left_out = {code: problem.message for code, problem in result.unit_problems.items()}
    left_out.update(result.delivery.skipped)
    # A check's writer only foresees the dashboard's failure; a sync meeting it stops (unless only time ran out).
    stops = dashboard if dashboard is not None and not isinstance(dashboard, NotFinished) else None
    return Attention(area.counts.quarantined, left_out, problems, dict(result.delivery.skipped), stops)


def unit_codes(result: SyncResult) -> list[str]:
    """The roster's unit codes in a run's report (and those of units left out): codes, not IDs to mask."""
    return [*result.data.units["code"], *result.unit_problems]


def format_report(result: SyncResult, attention: Attention | None = None) -> str:
    """The short table printed after a run: counts, indicators against targets, outputs, what needs a person."""
    return "\n".join(findings(result) + outcome(
        result.settings, Outcome(result.published.written, len(result.published.unchanged), result.requests,
                                 result.delivery, result.unit_problems),
        attention or needs_a_person(result),
    ))


def findings(result: SyncResult) -> list[str]:
    """The report's first part, what the area's data says: counts, needs, indicators against targets.

    It depends on the data alone, so an idle night (``pipeline.idle``) prints the last run's again.
    """
    from pipeline.render import percent

    counts = result.area.counts
    lines = [
        f"ปีงบประมาณ {result.settings.area.fiscal_year}: โรงเรียน {counts.schools} แห่ง, "
        f"หน่วยงานทั้งหมด {counts.units}, บุคลากร {counts.staff} คน, "
        f"นักเรียน {counts.students:,} คน, ห้องเรียน {counts.classrooms:,} ห้อง",
        f"แบบสำรวจที่ใช้ได้ {counts.survey} คน, แถว ID Plan {counts.plans}, แถวบันทึกการพัฒนา {counts.records}",
        f"แถวที่ใช้ไม่ได้ (ต้องแก้ไข) {counts.quarantined}, ปรับแก้ให้อัตโนมัติ {counts.notes}",
        *needs_lines(result),
        "",
        "".join(pad(h, w) for h, w in zip(REPORT_HEADERS, REPORT_WIDTHS)),
    ]
    for ind in result.area.indicators:
        target = percent(ind.target) if ind.target is not None else "ไม่มี"
        cells = (ind.id, f"{ind.met}/{ind.population}", percent(ind.percent), target,
                 ind.status, ind.short_name)
        lines.append("".join(pad(c, w) for c, w in zip(cells, REPORT_WIDTHS)).rstrip())
    return lines


@dataclass
class Outcome:
    """What one night did: written, left as it was, asked of the storage's service, mailed, left out."""

    written: dict[str, list[str]]
    unchanged: int
    requests: RequestCounts
    delivery: Delivery
    unit_problems: dict[str, PipelineError]


def outcome(settings: Settings, night: Outcome, attention: Attention) -> list[str]:
    """The report's second part: what this night wrote and mailed, units left out, what needs a person."""
    dashboard = settings.output.dashboard
    units_written = len([k for k in night.written if k != dashboard])
    lines = [
        "",
        f"เขียนแท็บสรุปผลลง {units_written} สเปรดชีต"
        + (f" และแดชบอร์ด '{dashboard}'" if dashboard in night.written else "")
        + f" ใน {settings.storage.location}",
    ]
    if night.unchanged:
        lines.append(f"ไม่ต้องเขียนใหม่ {night.unchanged} สเปรดชีต (ข้อมูลเหมือนครั้งก่อน)")
    if night.requests.total:
        r = night.requests
        lines.append(
            f"คำขอถึง Google: อ่าน {r.sheets_read}, เขียน {r.sheets_write}, Drive {r.drive}"
            + (f", ลองใหม่ {r.retries}" if r.retries else "")
        )
    lines += mail_lines(night.delivery)
    for code, problem in night.unit_problems.items():
        lines.append(f"หน่วยงาน {code} ตกหล่น (ไม่ได้เขียนแท็บสรุปผลและไม่ได้ส่งอีเมล): {problem.message}")
        if problem.hint:
            lines.append(f"    วิธีแก้: {problem.hint}")
    return lines + ["", *attention.lines()]


def needs_lines(result: SyncResult) -> list[str]:
    """The year's development needs in two lines: who is still waiting, and topic texts no topic covers."""
    from pipeline.publish import COHORTS_TAB, NEEDS_TAB, UNMATCHED_TAB

    needs = result.area.needs
    waiting = [t for t in needs.topics if t.unmet]
    lines = [
        f"ความต้องการพัฒนา: {needs.people} คน, ยังรอการพัฒนา {needs.people_waiting} คน ใน {len(waiting)} หัวข้อ "
        f"(แดชบอร์ดแท็บ '{NEEDS_TAB}' และรายชื่อในแท็บ '{COHORTS_TAB}')"
    ]
    if needs.unmatched:
        config = result.settings.source_file or "ไฟล์ตั้งค่า"
        lines.append(
            f"หัวข้อที่ยังไม่จับคู่: {len(needs.unmatched)} ข้อความ ({needs.unmatched_rows} แถว) ยังไม่นับในหัวข้อใด "
            f"(ดูแท็บ '{UNMATCHED_TAB}' แล้วเพิ่มเป็นชื่อเรียกอื่นใน [vocabulary.topics] ของ {config})"
        )
    return lines


def mail_lines(delivery: Delivery) -> list[str]:
    """What happened to the run's e-mail, in Thai (each message in doubt is listed with what to do at the end)."""
    lines = [f"อีเมล {len(delivery.written)} ฉบับใน {delivery.outbox}"]
    not_due = []
    if delivery.unchanged:
        not_due.append(f"ไม่ส่งซ้ำ {len(delivery.unchanged)} ฉบับ (สรุปผลเหมือนฉบับที่ส่งไปแล้ว)")
    if delivery.held:
        first = min(delivery.held.values())
        not_due.append(f"รอรอบส่ง (mail.cadence) {len(delivery.held)} ฉบับ (ส่งได้อีกตั้งแต่ {first.isoformat()})")
    if delivery.not_chosen:
        not_due.append(f"ไม่ได้อยู่ใน --unit {len(delivery.not_chosen)} ฉบับ (ไม่ส่งรอบนี้)")
    if delivery.test_to:
        lines.append(f"ส่งไปที่อีเมลทดสอบ {delivery.test_to} แล้ว {len(delivery.sent)} ฉบับ (ไม่นับว่าส่งถึงผู้อำนวยการ)")
    elif delivery.sending:
        lines.append(f"ส่งแล้ว {len(delivery.sent)} ฉบับ" + "".join(f", {n}" for n in not_due))
    else:
        lines.append(
            f"ยังไม่ได้ส่ง: ใช้ --send เพื่อส่งจริง (จะส่ง {len(delivery.due)} ฉบับ"
            + "".join(f", {n}" for n in not_due) + ")"
        )
    if delivery.in_doubt:
        lines.append(
            f"ไม่แน่ใจว่าถึงผู้รับหรือไม่ {len(delivery.in_doubt)} ฉบับ ({', '.join(delivery.in_doubt)}): devplan ไม่ส่งซ้ำเอง "
            "(ดูวิธีแก้ของแต่ละฉบับที่ 'ไม่ได้ส่งถึง' ท้ายรายงาน: ยืนยันว่าถึงแล้ว หรือส่งอีกครั้ง)"
        )
    return lines


def format_confirmed(sent: SentMail) -> str:
    """What ``devplan confirm-sent`` recorded: the message in doubt arrived, and nothing was sent."""
    when = sent.confirmed_at or sent.sent_at
    return (
        f"บันทึกแล้ว: อีเมลสรุปผลถึง {sent.unit} ({sent.recipient}) ที่ส่งเมื่อ {sent.sent_at:%Y-%m-%d %H:%M} "
        f"ถึงผู้อำนวยการแล้ว (ยืนยันโดยสำนักงานเมื่อ {when:%Y-%m-%d %H:%M}; ไม่ได้ส่งอีเมลใด ๆ)\n"
        "sync ครั้งต่อไปจะไม่ส่งฉบับนี้ซ้ำ และจะส่งถึงหน่วยงานนี้อีกเมื่อสรุปผลเปลี่ยน (ตาม mail.cadence)"
    )


def format_check(result: SyncResult, attention: Attention) -> str:
    """The Thai report of a check (a run that wrote nothing), ending with what needs a person."""
    exit_code = attention.exit_code
    reads = result.reads
    settings = result.settings
    src = settings.sources
    counts = result.area.counts
    lines = [
        f"ตรวจอย่างเดียว ไม่ได้เขียนสิ่งใด: ปีงบประมาณ {settings.area.fiscal_year} จาก {settings.storage.location}",
        "",
        "ข้อมูลที่อ่านได้ (จำนวนแถวไม่นับหัวตาราง)",
    ]
    for label, source in (("ทะเบียนหน่วยงาน", src.units), ("ทะเบียนบุคลากร", src.staff), ("แบบสำรวจ", src.survey)):
        rows = reads.rows.get(source.spreadsheet, {}).get(source.tab)
        shown = "อ่านไม่ได้" if rows is None else f"{rows} แถว"
        lines.append(f"  {label}: '{source.spreadsheet}' แท็บ '{source.tab}' {shown}")
    sources = {src.units.spreadsheet, src.staff.spreadsheet, src.survey.spreadsheet}
    idplans = [k for k in reads.rows if k not in sources]
    plan_rows = sum(reads.rows[k].get(src.idplan.plan_tab, 0) for k in idplans)
    record_rows = sum(reads.rows[k].get(src.idplan.record_tab, 0) for k in idplans)
    lines.append(
        f"  ID Plan: {len(idplans)} สเปรดชีต แท็บ '{src.idplan.plan_tab}' {plan_rows} แถว, "
        f"แท็บ '{src.idplan.record_tab}' {record_rows} แถว"
    )
    lines.append(
        f"  อ่านจากสเปรดชีตจริง {len(reads.fresh)} ไฟล์, ใช้ข้อมูลเดิมจากไฟล์สถานะ {len(reads.cached)} ไฟล์ "
        "(ไม่มีการแก้ไขตั้งแต่ครั้งก่อน)"
    )
    lines.append(
        f"  ใช้ได้: หน่วยงาน {counts.units} แห่ง (โรงเรียน {counts.schools}), บุคลากร {counts.staff} คน, "
        f"แบบสำรวจ {counts.survey} คน, แถว ID Plan {counts.plans}, แถวบันทึกการพัฒนา {counts.records}"
    )
    lines += [f"  {line}" for line in needs_lines(result)]

    lines += ["", "สิ่งที่ต้องมีคนดูแล"]
    issues = result.area.issues
    problems = result.unit_problems
    if not issues and not problems:
        lines.append("  ไม่มี")
    if issues:
        lines.append(
            f"  แถวที่ใช้ไม่ได้ {len(issues)} แถว (หลัง sync จะอยู่ในแท็บ 'ข้อมูลที่ต้องแก้ไข' ของแดชบอร์ด "
            f"'{settings.output.dashboard}'):"
        )
        for issue in issues[:SHOWN_ISSUES]:
            place = f"'{issue.sheet}'" + (f" แท็บ '{issue.tab}'" if issue.tab else "") + (
                f" แถว {issue.row}" if issue.row else "")
            value = f" ({issue.value})" if issue.value else ""
            lines.append(f"    - {place}: {issue.reason}{value}")
        if len(issues) > SHOWN_ISSUES:
            lines.append(f"    ... และอีก {len(issues) - SHOWN_ISSUES} แถว")
    if problems:
        lines.append(f"  หน่วยงานที่จะไม่ได้ประมวลผล {len(problems)} แห่ง:")
        for code, problem in problems.items():
            lines.append(f"    - {code}: {problem.message}")
            if problem.hint:
                lines.append(f"      วิธีแก้: {problem.hint}")
    if counts.notes:
        lines.append(f"  ปรับแก้ให้อัตโนมัติ {counts.notes} แถว (ไม่ต้องทำอะไร ดูได้ในแท็บ 'ปรับแก้อัตโนมัติ')")

    published = result.published
    lines += ["", f"แท็บที่ sync จะเขียน ({len(published.written)} สเปรดชีต)"]
    for key, tabs in published.written.items():
        lines.append(f"  - {key}: {', '.join(repr(t) for t in tabs)} → {result.addresses.get(key, '')}")
    if published.unchanged:
        lines.append(f"  ไม่ต้องเขียนใหม่ {len(published.unchanged)} สเปรดชีต (เหมือนที่เขียนไว้ครั้งก่อน)")

    delivery = result.delivery
    due = [code for code in delivery.due if code in delivery.recipients]
    lines += ["", (f"อีเมลที่ sync จะเตรียมไว้ใน {delivery.outbox}: {len(delivery.recipients)} ฉบับ; "
                   f"จะส่งเมื่อสั่ง sync --send {len(due)} ฉบับ")]
    for code in due:
        lines.append(f"  - {code} → {delivery.recipients[code]}")
    if delivery.unchanged:
        lines.append(f"  ไม่ส่งซ้ำ {len(delivery.unchanged)} ฉบับ (สรุปผลเหมือนฉบับที่ส่งไปแล้ว)")
    if delivery.held:
        lines.append(f"  รอรอบส่ง (mail.cadence) {len(delivery.held)} ฉบับ "
                     f"(ส่งได้อีกตั้งแต่ {min(delivery.held.values()).isoformat()})")
    for code, why in delivery.skipped.items():
        lines.append(f"  - {code}: ไม่ส่ง: {why}")
    if result.requests.total:
        r = result.requests
        lines += ["", f"คำขอถึง Google: อ่าน {r.sheets_read}, เขียน {r.sheets_write}, Drive {r.drive}"]
    lines += [
        "",
        "ผล: พร้อมสั่ง sync" if exit_code == 0 else
        f"ผล: sync จะหยุดที่แดชบอร์ด (ดูปัญหาด้านล่าง) แก้แล้วสั่ง check อีกครั้ง รหัสออก {exit_code}"
        if attention.stops is not None else
        f"ผล: sync ได้ แต่มีแถวหรือหน่วยงานที่ต้องมีคนแก้ไข (ดูด้านบน) รหัสออก {exit_code}",
        *attention.lines(),
    ]
    return "\n".join(lines)


def format_access(report: AccessReport) -> str:
    """The Thai table of what is reachable and what must be shared."""
    header = ("สเปรดชีต", "คืออะไร", report.place.role_header, "ผล")
    cells = [header[:3], *((r.key, r.what, r.role) for r in report.rows)]
    widths = tuple(max(text_cells(row[i]) for row in cells) + 2 for i in range(3)) + (0,)
    lines = [
        f"ตรวจการเข้าถึงสเปรดชีตใน {report.location}"
        + (f" ด้วยบัญชีบริการ {report.account}" if report.account else ""),
        "",
        "".join(pad(h, w) for h, w in zip(header, widths)),
    ]
    for row in report.rows:
        mark = "✓" if row.ok else "✗"
        lines.append("".join(pad(c, w) for c, w in zip((row.key, row.what, row.role, f"{mark} {row.status}"), widths)))
    bad = [r for r in report.rows if not r.ok]
    lines.append("")
    if not bad:
        lines.append(f"เข้าถึงได้ครบทั้ง {len(report.rows)} รายการ"
                     + (f" (คำขอถึง Google {report.requests} ครั้ง)" if report.requests else ""))
        return "\n".join(lines)
    share = report.place.share_with
    lines.append(f"ต้องแก้ {len(bad)} รายการ:" + (f" แชร์ให้ {share}" if share else ""))
    for row in bad:
        lines.append(f"  - {row.key} ({row.what}): {row.hint or row.status}")
    return "\n".join(lines)


def init_next_steps(config: Path, ok: bool, default_sender: bool) -> str:
    """What to do after ``devplan init``: fix what the access table says, then check, sync, status."""
    lines = []
    if default_sender:
        lines.append(f"อย่าลืม: แก้ผู้ส่งอีเมล (sender ในส่วน [mail]) ใน {config} ก่อนส่งอีเมลจริง")
    lines.append("ขั้นต่อไป:")
    if not ok:
        lines.append("  0. แก้ตามรายการ 'ต้องแก้' ด้านบน (ไม่ต้องสั่ง init ใหม่)")
    lines += [
        f"  1. devplan check --config {config}    ตรวจทุกอย่างที่ sync จะทำ โดยไม่เขียนอะไรเลย",
        f"  2. devplan sync --config {config}     ประมวลผลจริง (อีเมลอยู่ใน outbox จนกว่าจะใส่ --send)",
        f"  3. devplan status --config {config}   ดูประวัติการทำงาน",
    ]
    return "\n".join(lines)


def list_indicators(config: Path | None, year: int | None, *, as_json: bool = False) -> str:
    """``devplan indicators``: the plan's indicators with the year's targets, as a list or JSON.

    ``config`` is an area's config (its indicators file, vocabulary and year) or an
    indicators file itself; without it, the indicators devplan ships.
    """
    from pipeline.config import load_settings, read_toml
    from pipeline.defaults import INDICATORS
    from pipeline.indicators import load_indicators
    from pipeline.thai import fiscal_year

    kinds = None
    path = config or INDICATORS
    if config is not None and "indicator" not in read_toml(config):
        settings = load_settings(config)
        path, kinds = settings.indicators.file, settings.vocabulary.development_kinds
        year = year or settings.area.fiscal_year
    year = year or fiscal_year(date.today())
    items = load_indicators(path, kinds)
    rows = [
        {"id": i.id, "strategy": i.strategy, "name": i.name, "short_name": i.short_name, "unit": i.unit,
         "year": year, "target": i.target(year), "rule": i.evidence.rule}
        for i in items
    ]
    if as_json:
        return json.dumps(rows, ensure_ascii=False, indent=2)
    lines = [f"ตัวชี้วัด ปีงบประมาณ {year} ({path})"]
    for item in items:
        target = item.target(year)
        shown = "ไม่มีเป้าหมาย" if target is None else f"เป้าหมายร้อยละ {target:g}"
        unit = "คน" if item.unit == "staff" else "หน่วยงาน"
        lines.append(f"- [{item.id}] ยุทธศาสตร์ที่ {item.strategy}, นับเป็น{unit}, {shown}\n    {item.name}")
    return "\n".join(lines)
