"""``devplan check``: everything a sync would do, without writing anything.

It reads every source (the state file may cache what it read, as a sync does),
matches and measures, renders every tab and e-mail, and reports: rows per
source, rows and units that need a person, the tabs it would write and where,
and the mails it would send and to whom. No spreadsheet is written, no file is
put in the outbox, no mail is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from pipeline.config import Settings
from pipeline.errors import PipelineError
from pipeline.history import CountingWorkbook, note
from pipeline.state import State
from pipeline.sync import SyncResult, run_sync
from pipeline.workbook import open_workbook

#: rows to fix listed one by one; the rest are counted (all are on the dashboard after a sync)
SHOWN_ISSUES = 20


@dataclass
class CheckResult:
    run: SyncResult
    #: spreadsheet key -> {tab: data rows}, for everything read
    rows: dict[str, dict[str, int]]
    fresh: list[str]
    cached: list[str]
    #: spreadsheet key -> where it is (a file, a Google Sheets address, or that it would be created)
    where: dict[str, str]


def run_check(
    settings: Settings,
    *,
    progress: Callable[[str, int, int], None] | None = None,
    on_wait: Callable[[str, float, str], None] | None = None,
    full: bool = False,
) -> CheckResult:
    """Read and compute everything a sync would, writing nothing but the state file's cache."""
    with State(settings.storage.state) as state:
        book = CountingWorkbook(open_workbook(settings.storage, state, full=full, on_wait=on_wait))
        result = run_sync(settings, workbook=book, progress=progress, dry_run=True)
        where = {key: _where(book, key) for key in result.published.written}
    note(mails_due=len(result.delivery.due))
    return CheckResult(result, book.rows, book.fresh, book.cached, where)


def _where(book: Any, key: str) -> str:
    path = getattr(book, "path", None)
    if callable(path):  # local: the .xlsx file
        file = path(key)
        return str(file) if file.is_file() else f"{file} (ยังไม่มี: จะสร้างไฟล์ใหม่)"
    if not book.exists(key):
        return f"ยังไม่มีใน {book.location}: จะสร้างสเปรดชีตใหม่ชื่อ '{key}'"
    try:
        return f"https://docs.google.com/spreadsheets/d/{book._resolve(key)}"
    except (PipelineError, AttributeError):
        return str(book.location)


def format_check(check: CheckResult, *, exit_code: int) -> str:
    """The Thai report of a check."""
    result = check.run
    settings = result.settings
    src = settings.sources
    counts = result.area["counts"]
    lines = [
        f"ตรวจอย่างเดียว ไม่ได้เขียนสิ่งใด: ปีงบประมาณ {settings.area.fiscal_year} จาก {settings.storage.location}",
        "",
        "ข้อมูลที่อ่านได้ (จำนวนแถวไม่นับหัวตาราง)",
    ]
    for label, source in (("ทะเบียนหน่วยงาน", src.units), ("ทะเบียนบุคลากร", src.staff), ("แบบสำรวจ", src.survey)):
        rows = check.rows.get(source.spreadsheet, {}).get(source.tab)
        shown = "อ่านไม่ได้" if rows is None else f"{rows} แถว"
        lines.append(f"  {label}: '{source.spreadsheet}' แท็บ '{source.tab}' {shown}")
    sources = {src.units.spreadsheet, src.staff.spreadsheet, src.survey.spreadsheet}
    idplans = [k for k in check.rows if k not in sources]
    plan_rows = sum(check.rows[k].get(src.idplan.plan_tab, 0) for k in idplans)
    record_rows = sum(check.rows[k].get(src.idplan.record_tab, 0) for k in idplans)
    lines.append(
        f"  ID Plan: {len(idplans)} สเปรดชีต แท็บ '{src.idplan.plan_tab}' {plan_rows} แถว, "
        f"แท็บ '{src.idplan.record_tab}' {record_rows} แถว"
    )
    lines.append(
        f"  อ่านจากสเปรดชีตจริง {len(check.fresh)} ไฟล์, ใช้ข้อมูลเดิมจากไฟล์สถานะ {len(check.cached)} ไฟล์ "
        "(ไม่มีการแก้ไขตั้งแต่ครั้งก่อน)"
    )
    lines.append(
        f"  ใช้ได้: หน่วยงาน {counts['units']} แห่ง (โรงเรียน {counts['schools']}), บุคลากร {counts['staff']} คน, "
        f"แบบสำรวจ {counts['survey']} คน, แถว ID Plan {counts['plans']}, แถวบันทึกการพัฒนา {counts['records']}"
    )

    lines += ["", "สิ่งที่ต้องมีคนดูแล"]
    issues = result.area["issues"]
    problems = result.unit_problems
    if not issues and not problems:
        lines.append("  ไม่มี")
    if issues:
        lines.append(
            f"  แถวที่ใช้ไม่ได้ {len(issues)} แถว (หลัง sync จะอยู่ในแท็บ 'ข้อมูลที่ต้องแก้ไข' ของแดชบอร์ด "
            f"'{settings.output.dashboard}'):"
        )
        for issue in issues[:SHOWN_ISSUES]:
            place = f"'{issue['sheet']}'" + (f" แท็บ '{issue['tab']}'" if issue["tab"] else "") + (
                f" แถว {issue['row']}" if issue["row"] else "")
            value = f" ({issue['value']})" if issue["value"] else ""
            lines.append(f"    - {place}: {issue['reason']}{value}")
        if len(issues) > SHOWN_ISSUES:
            lines.append(f"    ... และอีก {len(issues) - SHOWN_ISSUES} แถว")
    if problems:
        lines.append(f"  หน่วยงานที่จะไม่ได้ประมวลผล {len(problems)} แห่ง:")
        for code, problem in problems.items():
            lines.append(f"    - {code}: {problem.message}")
            if problem.hint:
                lines.append(f"      วิธีแก้: {problem.hint}")
    if counts["notes"]:
        lines.append(f"  ปรับแก้ให้อัตโนมัติ {counts['notes']} แถว (ไม่ต้องทำอะไร ดูได้ในแท็บ 'ปรับแก้อัตโนมัติ')")

    published = result.published
    lines += ["", f"แท็บที่ sync จะเขียน ({len(published.written)} สเปรดชีต)"]
    for key, tabs in published.written.items():
        lines.append(f"  - {key}: {', '.join(repr(t) for t in tabs)} → {check.where.get(key, '')}")
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
    if check.run.requests:
        r = check.run.requests
        lines += ["", f"คำขอถึง Google: อ่าน {r['sheets_read']}, เขียน {r['sheets_write']}, Drive {r['drive']}"]
    lines += [
        "",
        "ผล: พร้อมสั่ง sync" if exit_code == 0 else
        f"ผล: sync ได้ แต่มีแถวหรือหน่วยงานที่ต้องมีคนแก้ไข (ดูด้านบน) รหัสออก {exit_code}",
    ]
    return "\n".join(lines)
