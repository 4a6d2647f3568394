"""Command line: parses options, calls the library, turns its errors into clear messages.

The only module that imports click. Heavy libraries are imported inside
commands so ``devplan --help`` stays instant.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any, Callable

import click

from pipeline import __version__
from pipeline.defaults import DEMO_CONFIG, INDICATORS

#: exit code when the reader of our output went away (`devplan indicators | head -1`), as for SIGPIPE
EXIT_BROKEN_PIPE = 141


class Context:
    def __init__(self, debug: bool) -> None:
        self.debug = debug


def masked(text: str, keep: Any = ()) -> str:
    """Text for a person's screen or log: any number that could be a national ID masked.

    ``keep``: the roster's unit codes, which are codes, not IDs.
    """
    from pipeline.thai import mask_ids_in_text, normalize_national_id

    return mask_ids_in_text(text, {normalize_national_id(code) for code in keep})


def _quiet_stdout() -> None:
    """The reader of stdout has gone: send the rest nowhere, so nothing complains at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def handle_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a PipelineError into a Thai message and its exit code; traceback only with --debug.

    Exit codes: 2 config, 3 source, 4 writing results, 5 sending mail, 75 another run
    holds the state file, 70 anything unforeseen (with the hint to rerun with --debug).
    """

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from pipeline.errors import EXIT_UNEXPECTED, PipelineError

        context = click.get_current_context().find_object(Context)
        debug = context is not None and context.debug
        try:
            return command(*args, **kwargs)
        except PipelineError as exc:
            if debug:
                raise
            click.echo(masked(f"ข้อผิดพลาด: {exc.message}"), err=True)
            if exc.hint:
                click.echo(masked(f"วิธีแก้: {exc.hint}"), err=True)
            sys.exit(exc.exit_code)
        except click.ClickException:
            raise  # click prints usage errors itself, with exit code 2
        except BrokenPipeError:
            _quiet_stdout()
            sys.exit(EXIT_BROKEN_PIPE)
        except KeyboardInterrupt:
            click.echo("หยุดทำงานตามคำสั่งผู้ใช้", err=True)
            sys.exit(130)
        except Exception as exc:  # the last line of defence: say what to do, not a traceback
            if debug:
                raise
            click.echo(
                masked(f"ข้อผิดพลาดที่ไม่คาดคิด: {exc.__class__.__name__}: {exc}") + "\n"
                "วิธีแก้: สั่งรันอีกครั้งพร้อม --debug (devplan --debug ...) แล้วส่งข้อความทั้งหมดให้ผู้ดูแลระบบ",
                err=True,
            )
            sys.exit(EXIT_UNEXPECTED)

    return wrapper


#: the last progress shown, so a wait message can say where the run stands
PROGRESS_STATE: dict[str, str] = {}


BAR_WIDTH = 30


def stderr_is_terminal() -> bool:
    """True when a person watches stderr (a terminal), False under cron, a pipe or a log file."""
    try:
        return bool(sys.stderr.isatty())
    except (AttributeError, ValueError):
        return False


def end_progress_bar() -> None:
    """Finish an unfinished bar's line, so the next message starts on a line of its own."""
    if PROGRESS_STATE.pop("bar", None):
        click.echo("", err=True)


def progress_printer(stage_names: dict[str, str]) -> Callable[[str, int, int], None]:
    """Show progress on stderr: a bar redrawn in place on a terminal; else "stage done/total"
    lines about every 10% (cron mail and logs stay short and readable)."""

    def show(stage: str, done: int, total: int) -> None:
        name = stage_names.get(stage, stage)
        PROGRESS_STATE["where"] = f"{name} {done}/{total}"
        if stderr_is_terminal():
            filled = BAR_WIDTH * done // total if total else BAR_WIDTH
            percent = 100 * done // total if total else 100
            line = f"\r  {name} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{total} ({percent}%)"
            click.echo(line, err=True, nl=False)
            PROGRESS_STATE["bar"] = "open"
            if done >= total:
                end_progress_bar()
            return
        step = max(1, total // 10)
        if done == total or done % step == 0:
            click.echo(f"  {name} {done}/{total}", err=True)

    return show


PROGRESS = progress_printer(
    {"collect": "อ่านสเปรดชีต ID Plan", "publish": "เขียนแท็บสรุปผล", "deliver": "ส่งอีเมล"}
)


CHECK_PROGRESS = progress_printer({"collect": "อ่านสเปรดชีต ID Plan", "publish": "เตรียมแท็บสรุปผล (ไม่เขียน)"})


def config_option(default: Path | None = None, required: bool = False) -> Callable[[Any], Any]:
    # click 8.3 treats an explicit ``default=None`` as a value given, so only pass a real default
    chosen: dict[str, Any] = {"required": True} if required else {"default": default, "show_default": default is not None}
    return click.option(
        "--config", "config_path", type=click.Path(path_type=Path, dir_okay=False), **chosen,
        help="ไฟล์ตั้งค่า TOML (ตัวอย่าง: config/demo.toml หรือ devplan.toml ที่ devplan init เขียนไว้)",
    )


def year_option(what: str = "") -> Callable[[Any], Any]:
    """``--year``: the fiscal year, over the config's; errors about it name the flag."""
    return click.option("--year", type=int, default=None, help=f"ปีงบประมาณ พ.ศ. {what}(แทนค่าในไฟล์ตั้งค่า)")


def run_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--full`` and ``--wait``, shared by the commands that read the whole area (sync, check)."""
    command = click.option("--wait", is_flag=True, help="ถ้ามี devplan อีกชุดกำลังทำงานกับไฟล์สถานะเดียวกัน ให้รอจนเสร็จ (ค่าเริ่มต้น: เลิกทันที)")(command)
    command = click.option("--full", is_flag=True, help="อ่านสเปรดชีตทุกไฟล์ใหม่ทั้งหมด แม้ไม่มีการแก้ไขตั้งแต่ครั้งก่อน")(command)
    return command


def _load_for_year(config_path: Path, year: int | None) -> Any:
    return _load(config_path, {"area.fiscal_year": year}, flags={"area.fiscal_year": "--year"})


def sample_options(command: Callable[..., Any]) -> Callable[..., Any]:
    command = click.option("--seed", type=int, default=2562, show_default=True, help="ค่าตั้งต้นสุ่ม: ค่าเดียวกันได้ข้อมูลเดียวกัน")(command)
    command = click.option("--schools", type=click.IntRange(1, 500), default=None, help="จำนวนโรงเรียน (ค่าเริ่มต้น: ขนาดเท่าเขตจริง ~165)")(command)
    return command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="devplan")
@click.option("--debug", is_flag=True, help="แสดง traceback เมื่อเกิดข้อผิดพลาด (สำหรับผู้ดูแลระบบ)")
@click.option("-v", "--verbose", is_flag=True, help="แสดงบันทึกการทำงานโดยละเอียด")
@click.pass_context
def cli(ctx: click.Context, debug: bool, verbose: bool) -> None:
    """devplan: รวบรวมแบบสำรวจและ ID Plan จาก Google Sheets คำนวณตัวชี้วัดตามแผนพัฒนาครู
    และบุคลากร แล้วเขียนสรุปผลกลับลงชีตและส่งอีเมลถึงทุกโรงเรียน"""
    ctx.obj = Context(debug)
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
        force=True,
    )


def _load(config_path: Path, overrides: dict[str, Any] | None = None, flags: dict[str, str] | None = None) -> Any:
    from pipeline.config import load_settings

    return load_settings(config_path, overrides, flags=flags)


@cli.command()
@click.option("--out", "out", type=click.Path(path_type=Path, file_okay=False), required=True, help="โฟลเดอร์ที่จะสร้างเขตตัวอย่าง")
@sample_options
@config_option(DEMO_CONFIG)
@handle_errors
def sample(out: Path, schools: int | None, seed: int, config_path: Path) -> None:
    """สร้างข้อมูลเขตพื้นที่ตัวอย่าง (ทะเบียน แบบสำรวจ และ ID Plan ทุกโรงเรียน) เป็นไฟล์ .xlsx"""
    manifest_path = _make_sample(out, schools, seed, config_path)
    click.echo(f"สร้างเขตตัวอย่างแล้วที่ {out / 'sheets'}")
    click.echo(f"รายการข้อมูลที่จงใจทำให้ผิด: {manifest_path}")


def _demo_paths(out: Path) -> dict[str, str]:
    """Storage, outbox and state file of a sample area, all inside ``out``."""
    return {
        "storage.path": str(out / "sheets"),
        "output.outbox": str(out / "outbox"),
        "storage.state": str(out / "devplan-state.sqlite"),
    }


def _make_sample(out: Path, schools: int | None, seed: int, config_path: Path) -> Path:
    from pipeline.sample import SAMPLE_MANIFEST, generate_area
    from pipeline.workbook.local import LocalWorkbook

    from pipeline.errors import ConfigError

    sheets, path = out / "sheets", out / SAMPLE_MANIFEST
    if any(sheets.glob("*.xlsx")) and not path.exists():
        # Never overwrite an office's real spreadsheets with sample data.
        raise ConfigError(
            f"โฟลเดอร์ {sheets} มีสเปรดชีตอยู่แล้ว และไม่ใช่เขตตัวอย่างที่ devplan สร้างไว้",
            "ระบุ --out เป็นโฟลเดอร์ใหม่หรือโฟลเดอร์ว่าง",
        )
    settings = _load(config_path, _demo_paths(out))
    manifest = generate_area(LocalWorkbook(settings.storage.path), settings, schools=schools, seed=seed)
    path.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


@cli.command()
@config_option(required=True)
@year_option()
@click.option("--send", is_flag=True, help="ส่งอีเมลจริงผ่าน SMTP เฉพาะฉบับที่ผู้อำนวยการยังไม่ได้รับ (ค่าเริ่มต้น: เขียนไฟล์ .eml ไว้ใน outbox เท่านั้น)")
@click.option("--resend", is_flag=True, help="ใช้กับ --send: ส่งทุกฉบับอีกครั้ง แม้สรุปผลไม่เปลี่ยนหรือยังไม่ถึงรอบตาม mail.cadence")
@click.option("--to", "test_to", metavar="ADDRESS", default=None, help="ใช้กับ --send: ส่งทุกฉบับไปที่อีเมลทดสอบนี้แทน (ไม่นับว่าส่งถึงผู้อำนวยการแล้ว)")
@run_options
@handle_errors
def sync(
    config_path: Path, year: int | None, send: bool, resend: bool, test_to: str | None, wait: bool, full: bool
) -> None:
    """ประมวลผลทั้งหมด: อ่านข้อมูล จับคู่ คำนวณตัวชี้วัด เขียนสรุปผลลงชีต และเตรียม/ส่งอีเมล

    \b
    รหัสออก: 0 เรียบร้อย, 1 เสร็จแต่มีแถวหรือหน่วยงานที่ต้องมีคนแก้ไข, 2 ไฟล์ตั้งค่า,
    3 สเปรดชีตต้นทาง, 4 เขียนผลลัพธ์, 5 ส่งอีเมล, 70 ข้อผิดพลาดที่ไม่คาดคิด,
    75 มี devplan อีกชุดกำลังทำงานกับไฟล์สถานะเดียวกัน
    """
    if (resend or test_to) and not send:
        raise click.UsageError(f"{'--resend' if resend else '--to'} ใช้ได้เฉพาะคู่กับ --send")
    if test_to is not None and "@" not in test_to:
        raise click.BadParameter(f"'{test_to}' ไม่ใช่ที่อยู่อีเมล", param_hint="--to")
    from pipeline.history import recording

    settings = _load_for_year(config_path, year)
    with recording("sync", settings):  # one row in the run history (devplan status), even if it fails
        code = _run_and_report(settings, send, full, resend=resend, test_to=test_to, wait=wait)
        sys.exit(code)


def _wait_printer() -> Callable[[str, float, str], None]:
    """Say on stderr why the run is waiting (quota or a retry) and where it stands."""

    def show(kind: str, seconds: float, reason: str) -> None:
        where = f" ({PROGRESS_STATE['where']})" if PROGRESS_STATE.get("where") else ""
        if seconds >= 1 or kind == "retry":
            end_progress_bar()
            click.echo(f"  รอ {seconds:.0f} วินาที: {reason}{where}", err=True)

    return show


def _run_and_report(
    settings: Any, send: bool, full: bool = False, *,
    resend: bool = False, test_to: str | None = None, wait: bool = False,
) -> int:
    """Run under the state file's lock, print the report; the exit code (0 clean, 1 needs a person)."""
    from pipeline.deliver import SendPolicy, SmtpSettings
    from pipeline.errors import ConfigError
    from pipeline.lock import RunLock
    from pipeline.sync import run_sync

    smtp = SmtpSettings.from_environ() if send else None
    if send and smtp is None:
        raise ConfigError(
            "สั่ง --send แต่ยังไม่ได้ตั้งค่าเซิร์ฟเวอร์อีเมล",
            "ตั้งตัวแปรสภาพแวดล้อม DEVPLAN_SMTP_HOST (และ DEVPLAN_SMTP_USER, DEVPLAN_SMTP_PASSWORD) "
            "หรือสั่งรันโดยไม่ใส่ --send เพื่อเขียนอีเมลลง outbox",
        )
    policy = SendPolicy(resend=resend, cadence_days=settings.mail.cadence, test_to=test_to)
    say = functools.partial(click.echo, err=True)
    with RunLock(settings.storage.state, wait=wait, on_wait=say):
        say(f"เริ่มประมวลผล ปีงบประมาณ {settings.area.fiscal_year} จาก {settings.storage.location}")
        result = run_sync(
            settings, smtp=smtp, progress=PROGRESS, full=full, on_wait=_wait_printer(), send_policy=policy,
        )
    attention = needs_a_person(result)
    codes = [*result.data.units["code"], *result.unit_problems]  # a unit left out is named by its code
    click.echo(masked(format_report(result, attention), keep=codes))
    return attention.exit_code


REPORT_HEADERS = ("ตัวชี้วัด", "ผ่าน/นับ", "ร้อยละ", "เป้าหมาย", "ผล", "ชื่อ")
REPORT_WIDTHS = (20, 12, 8, 10, 14, 0)


def pad(text: str, width: int) -> str:
    """Left-align ``text`` in ``width`` terminal cells; Thai vowel and tone marks take none."""
    from pipeline.workbook.layout import text_cells

    return text + " " * max(1, width - text_cells(text)) if width else text


class Attention:
    """What a person must look at after a run that finished: rows to fix, units left out, problems.

    ``units``: unit code -> why it was left out: its spreadsheet could not be read or
    written (listed in the report above), or no summary could be mailed to it.
    ``unmailed``: those of them left out of the mail only, listed here.
    """

    def __init__(
        self, rows: int, units: dict[str, str], problems: list[str], unmailed: dict[str, str] | None = None
    ) -> None:
        self.rows = rows
        self.units = units
        self.problems = problems
        self.unmailed = units if unmailed is None else unmailed

    @property
    def exit_code(self) -> int:
        from pipeline.errors import EXIT_NEEDS_PERSON

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


def needs_a_person(result: Any) -> Attention:
    """Rows that could not be used, units whose director gets no summary, and empty sources."""
    settings = result.settings
    problems = []
    survey = settings.sources.survey
    if result.area["counts"]["survey"] == 0:
        quarantine = result.data.quarantine
        from_survey = int(((quarantine["_sheet"] == survey.spreadsheet) & (quarantine["_tab"] == survey.tab)).sum())
        needs = [i for i in result.scores.indicators if i.evidence.rule == "matches_survey_need"]
        area = {row["id"]: row for row in result.area["indicators"]}
        shown = ", ".join(
            f"'{i.short_name}' ({i.id}) จึงเป็น {area[i.id]['met']}/{area[i.id]['population']}" for i in needs
        )
        why = (
            "มีแต่หัวตาราง ไม่มีคำตอบเลย" if not from_survey
            else f"ไม่มีคำตอบที่ใช้ได้ (ทั้ง {from_survey} แถวต้องแก้ไข)"
        )
        problems.append(
            f"แบบสำรวจ '{survey.spreadsheet}' แท็บ '{survey.tab}' {why}"
            + (f": ตัวชี้วัด {shown} ไม่ใช่ผลจริง" if shown else "")
        )
    left_out = {code: problem.message for code, problem in result.unit_problems.items()}
    left_out.update(result.delivery.skipped)
    return Attention(result.area["counts"]["quarantined"], left_out, problems, dict(result.delivery.skipped))


def format_report(result: Any, attention: Attention | None = None) -> str:
    """The short table printed after a run: counts, indicators against targets, outputs, what needs a person."""
    from pipeline.render import percent

    counts = result.area["counts"]
    lines = [
        f"ปีงบประมาณ {result.settings.area.fiscal_year}: โรงเรียน {counts['schools']} แห่ง, "
        f"หน่วยงานทั้งหมด {counts['units']}, บุคลากร {counts['staff']} คน, "
        f"นักเรียน {counts['students']:,} คน, ห้องเรียน {counts['classrooms']:,} ห้อง",
        f"แบบสำรวจที่ใช้ได้ {counts['survey']} คน, แถว ID Plan {counts['plans']}, แถวบันทึกการพัฒนา {counts['records']}",
        f"แถวที่ใช้ไม่ได้ (ต้องแก้ไข) {counts['quarantined']}, ปรับแก้ให้อัตโนมัติ {counts['notes']}",
        "",
        "".join(pad(h, w) for h, w in zip(REPORT_HEADERS, REPORT_WIDTHS)),
    ]
    for ind in result.area["indicators"]:
        target = percent(ind["target"]) if ind["target"] is not None else "ไม่มี"
        cells = (ind["id"], f"{ind['met']}/{ind['population']}", percent(ind["percent"]), target,
                 ind["status"], ind["short_name"])
        lines.append("".join(pad(c, w) for c, w in zip(cells, REPORT_WIDTHS)).rstrip())
    dashboard = result.settings.output.dashboard
    units_written = len([k for k in result.published.written if k != dashboard])
    lines += [
        "",
        f"เขียนแท็บสรุปผลลง {units_written} สเปรดชีต"
        + (f" และแดชบอร์ด '{dashboard}'" if dashboard in result.published.written else "")
        + f" ใน {result.settings.storage.location}",
    ]
    if result.published.unchanged:
        lines.append(f"ไม่ต้องเขียนใหม่ {len(result.published.unchanged)} สเปรดชีต (ข้อมูลเหมือนครั้งก่อน)")
    if result.requests:
        r = result.requests
        lines.append(
            f"คำขอถึง Google: อ่าน {r['sheets_read']}, เขียน {r['sheets_write']}, Drive {r['drive']}"
            + (f", ลองใหม่ {r['retries']}" if r["retries"] else "")
        )
    lines += mail_lines(result.delivery)
    for code, problem in result.unit_problems.items():
        lines.append(f"หน่วยงาน {code} ไม่ได้ประมวลผล: {problem.message}")
        if problem.hint:
            lines.append(f"    วิธีแก้: {problem.hint}")
    lines += ["", *(attention or needs_a_person(result)).lines()]
    return "\n".join(lines)


def mail_lines(delivery: Any) -> list[str]:
    """What happened to the run's e-mail, in Thai."""
    lines = [f"อีเมล {len(delivery.written)} ฉบับใน {delivery.outbox}"]
    not_due = []
    if delivery.unchanged:
        not_due.append(f"ไม่ส่งซ้ำ {len(delivery.unchanged)} ฉบับ (สรุปผลเหมือนฉบับที่ส่งไปแล้ว)")
    if delivery.held:
        first = min(delivery.held.values())
        not_due.append(f"รอรอบส่ง (mail.cadence) {len(delivery.held)} ฉบับ (ส่งได้อีกตั้งแต่ {first.isoformat()})")
    if delivery.test_to:
        lines.append(f"ส่งไปที่อีเมลทดสอบ {delivery.test_to} แล้ว {len(delivery.sent)} ฉบับ (ไม่นับว่าส่งถึงผู้อำนวยการ)")
    elif delivery.sending:
        lines.append(f"ส่งแล้ว {len(delivery.sent)} ฉบับ" + "".join(f", {n}" for n in not_due))
    else:
        lines.append(
            f"ยังไม่ได้ส่ง: ใช้ --send เพื่อส่งจริง (จะส่ง {len(delivery.due)} ฉบับ"
            + "".join(f", {n}" for n in not_due) + ")"
        )
    return lines


@cli.command()
@click.option("--out", "out", type=click.Path(path_type=Path, file_okay=False), default=Path("demo-area"), show_default=True, help="โฟลเดอร์ผลลัพธ์")
@sample_options
@handle_errors
def demo(out: Path, schools: int | None, seed: int) -> None:
    """สร้างเขตตัวอย่างแล้วประมวลผลทั้งหมดในโฟลเดอร์เดียว (ไม่ส่งอีเมลจริง)"""
    manifest = _make_sample(out, schools, seed, DEMO_CONFIG)
    click.echo(f"สร้างเขตตัวอย่างแล้วที่ {out / 'sheets'} (รายการข้อมูลที่จงใจทำให้ผิด: {manifest})", err=True)
    settings = _load(DEMO_CONFIG, _demo_paths(out))
    _run_and_report(settings, send=False)  # the sample's spoiled rows are the point: exit 0 after a demo


@cli.command()
@config_option()
@click.option("--year", type=int, default=None, help="ปีงบประมาณ พ.ศ. ที่จะแสดงเป้าหมาย")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@handle_errors
def indicators(config_path: Path | None, year: int | None, fmt: str) -> None:
    """แสดงตัวชี้วัดทั้งแปดตามแผน พร้อมเป้าหมายของปีงบประมาณ"""
    from datetime import date

    from pipeline.config import read_toml
    from pipeline.indicators import load_indicators
    from pipeline.thai import fiscal_year

    kinds = None
    path = config_path or INDICATORS
    if config_path is not None and "indicator" not in read_toml(config_path):
        settings = _load(config_path)
        path, kinds = settings.indicators.file, settings.vocabulary.development_kinds
        year = year or settings.area.fiscal_year
    year = year or fiscal_year(date.today())
    items = load_indicators(path, kinds)
    rows = [
        {"id": i.id, "strategy": i.strategy, "name": i.name, "short_name": i.short_name, "unit": i.unit,
         "year": year, "target": i.target(year), "rule": i.evidence.rule}
        for i in items
    ]
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    click.echo(f"ตัวชี้วัด ปีงบประมาณ {year} ({path})")
    for r in rows:
        target = "ไม่มีเป้าหมาย" if r["target"] is None else f"เป้าหมายร้อยละ {r['target']:g}"
        unit = "คน" if r["unit"] == "staff" else "หน่วยงาน"
        click.echo(f"- [{r['id']}] ยุทธศาสตร์ที่ {r['strategy']}, นับเป็น{unit}, {target}\n    {r['name']}")


@cli.command()
@config_option(required=True)
@year_option("ของผลที่รายงาน ")
@click.option("--format", "fmt", type=click.Choice(["pdf", "html"]), default="pdf", show_default=True,
              help="pdf พิมพ์ได้โดยไม่ต้องมีเบราว์เซอร์; html เปิดได้ด้วยเบราว์เซอร์ใดก็ได้")
@click.option("--engine", type=click.Choice(["weasyprint", "chromium"]), default=None,
              help="โปรแกรมที่พิมพ์ PDF (ค่าเริ่มต้น: ตัวแปร DEVPLAN_PDF_ENGINE หรือ weasyprint; "
                   "chromium ต้องติดตั้ง Chromium ไว้)")
@click.option("--out", "out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="ไฟล์ที่จะเขียน (ค่าเริ่มต้น: devplan-report-<ปี>.<pdf|html>)")
@handle_errors
def report(config_path: Path, year: int | None, fmt: str, engine: str | None, out: Path | None) -> None:
    """เขียนรายงานความก้าวหน้าตามแผน: ตารางของแผนพร้อมผลปีนี้ ทั้งเขตและรายอำเภอ (PDF หรือ HTML)"""
    from pipeline.report import write_report

    settings = _load_for_year(config_path, year)
    click.echo(f"ทำรายงาน ปีงบประมาณ {settings.area.fiscal_year} จาก {settings.storage.location}", err=True)
    path = write_report(settings, fmt, out, engine=engine)
    click.echo(f"เขียนรายงานแล้ว: {path}")


@cli.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--as", "kind", type=click.Choice(["survey"]), required=True,
              help="ไฟล์นี้คืออะไร: survey = คำตอบแบบสำรวจที่ดาวน์โหลดจาก Google Forms")
@config_option(required=True)
@handle_errors
def import_file(file: Path, kind: str, config_path: Path) -> None:
    """นำไฟล์คำตอบที่ดาวน์โหลดจาก Google Forms (.csv หรือ .xlsx) เข้าเป็นแท็บคำตอบของแบบสำรวจ

    แทนที่แท็บคำตอบเดิมทั้งแท็บ ค่าทุกช่องคงเดิมตามไฟล์"""
    from pipeline.importer import import_survey
    from pipeline.lock import RunLock
    from pipeline.state import State
    from pipeline.workbook import open_workbook

    settings = _load(config_path)
    # never replace the survey tab while a sync is reading it
    with RunLock(settings.storage.state, wait=False), State(settings.storage.state) as state:
        count = import_survey(file, settings, open_workbook(settings.storage, state))
    survey = settings.sources.survey
    click.echo(
        f"นำเข้าคำตอบ {count} แถวจาก {file.name} ลงสเปรดชีต '{survey.spreadsheet}' "
        f"แท็บ '{survey.tab}' ใน {settings.storage.location}"
    )


# --- the first fifteen minutes: init, check, status ------------------------------------------


@cli.command()
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False))
@click.option("--name", help="ชื่อสำนักงานเขตพื้นที่ เช่น \"สำนักงานเขตพื้นที่การศึกษาประถมศึกษาเพชรบูรณ์ เขต 2\"")
@click.option("--office-code", help="รหัสของสำนักงานเขตในทะเบียนหน่วยงาน (แท็บหน่วยงานของ roster)")
@click.option("--year", type=click.IntRange(2500, 2700), help="ปีงบประมาณ พ.ศ. (ค่าเริ่มต้น: ปีงบประมาณปัจจุบัน)")
@click.option("--local", "local_path", type=click.Path(path_type=Path, file_okay=False),
              help="สเปรดชีตเป็นไฟล์ .xlsx ในโฟลเดอร์นี้ของเครื่อง")
@click.option("--drive", "drive_folder", metavar="FOLDER_ID_OR_URL",
              help="สเปรดชีตอยู่ในโฟลเดอร์ Google Drive นี้ (รหัสหรือลิงก์โฟลเดอร์)")
@click.option("--credentials", type=click.Path(path_type=Path, dir_okay=False),
              help="ไฟล์กุญแจ .json ของบัญชีบริการ Google (ดู Google setup ใน README)")
@click.option("--sender", help="ผู้ส่งอีเมล เช่น \"กลุ่มพัฒนาครู <hrd@example.go.th>\"")
@click.option("--yes", "-y", "assume_yes", is_flag=True, help="ไม่ถามใด ๆ ใช้ค่าจากตัวเลือกและค่าเริ่มต้น")
@click.option("--force", is_flag=True, help="เขียนทับ devplan.toml ที่มีอยู่แล้ว")
@handle_errors
def init(
    folder: Path, name: str | None, office_code: str | None, year: int | None, local_path: Path | None,
    drive_folder: str | None, credentials: Path | None, sender: str | None, assume_yes: bool, force: bool,
) -> None:
    """เริ่มต้นเขตพื้นที่ใหม่: ถามข้อมูลไม่กี่ข้อ เขียนไฟล์ตั้งค่า FOLDER/devplan.toml (มีคำอธิบายทุกส่วน)
    แล้วตรวจว่า devplan เข้าถึงสเปรดชีตทุกไฟล์ที่ต้องอ่านหรือเขียนได้หรือไม่

    \b
    รหัสออก: 0 เข้าถึงได้ครบ, 1 มีสเปรดชีตที่ต้องแชร์หรือแก้ไข (ตารางบอกว่าไฟล์ใด แชร์ให้ใคร สิทธิ์ใด),
    2 ตัวเลือกหรือไฟล์ตั้งค่าผิด
    """
    from datetime import date

    from pipeline.access import check_access, format_access
    from pipeline.init import CONFIG_NAME, DEFAULT_SENDER, Answers, valid_office_code, write_config
    from pipeline.thai import fiscal_year

    if local_path and drive_folder:
        raise click.UsageError("เลือกอย่างใดอย่างหนึ่ง: --local (ไฟล์ .xlsx) หรือ --drive (Google Drive)")
    if (folder / CONFIG_NAME).exists() and not force:
        raise click.UsageError(
            f"มีไฟล์ตั้งค่า {folder / CONFIG_NAME} อยู่แล้ว: ใช้ต่อได้เลย "
            f"(devplan check --config {folder / CONFIG_NAME}) หรือใส่ --force เพื่อเขียนทับ"
        )

    def ask(value: Any, flag: str, question: str, default: Any = None, **kwargs: Any) -> Any:
        if value is not None:
            return value
        if assume_yes:
            if default is None:
                raise click.UsageError(f"ใช้ --yes แล้วต้องระบุ {flag} ด้วย ({question})")
            return default
        return click.prompt(question, default=default, **kwargs)

    name = ask(name, "--name", "ชื่อสำนักงานเขตพื้นที่").strip()
    office_code = ask(office_code, "--office-code", "รหัสของสำนักงานเขตในทะเบียนหน่วยงาน").strip()
    if not valid_office_code(office_code):
        raise click.BadParameter(f"'{office_code}' ใช้เป็นรหัสหน่วยงานไม่ได้ (ใช้ตัวอักษรอังกฤษ ตัวเลข . _ -)",
                                 param_hint="--office-code")
    year = ask(year, "--year", "ปีงบประมาณ (พ.ศ.)", fiscal_year(date.today()), type=click.IntRange(2500, 2700))
    if not local_path and not drive_folder:
        if assume_yes:
            raise click.UsageError("ใช้ --yes แล้วต้องระบุ --local โฟลเดอร์ หรือ --drive รหัสโฟลเดอร์")
        where = click.prompt("สเปรดชีตอยู่ที่ไหน: google = Google Drive, local = ไฟล์ .xlsx ในเครื่องนี้",
                             type=click.Choice(["google", "local"]), default="google")
        if where == "local":
            local_path = Path(click.prompt("โฟลเดอร์ของไฟล์ .xlsx", type=click.Path(file_okay=False)))
        else:
            drive_folder = click.prompt("รหัสหรือลิงก์ของโฟลเดอร์ Google Drive")
    if drive_folder and credentials is None and not assume_yes:
        answer = click.prompt(
            "ไฟล์กุญแจ .json ของบัญชีบริการ (เว้นว่าง: ใช้ GOOGLE_APPLICATION_CREDENTIALS)",
            default="", show_default=False,
        ).strip()
        credentials = Path(answer) if answer else None
    sender = ask(sender, "--sender", "ผู้ส่งอีเมล (ชื่อ <อีเมล>)", DEFAULT_SENDER)
    answers = Answers(
        name=name, office_code=office_code, fiscal_year=year,
        backend="local" if local_path else "google", path=local_path, folder=drive_folder,
        credentials=credentials, sender=sender,
    )
    path = write_config(folder, answers, force=force)
    click.echo(f"เขียนไฟล์ตั้งค่าแล้ว: {path}")
    settings = _load(path)
    click.echo("ตรวจการเข้าถึงสเปรดชีต ...", err=True)
    report = check_access(settings)
    click.echo(format_access(report))
    click.echo("")
    if sender == DEFAULT_SENDER:
        click.echo(f"อย่าลืม: แก้ผู้ส่งอีเมล (sender ในส่วน [mail]) ใน {path} ก่อนส่งอีเมลจริง")
    click.echo("ขั้นต่อไป:")
    if not report.ok:
        click.echo("  0. แก้ตามรายการ 'ต้องแก้' ด้านบน (ไม่ต้องสั่ง init ใหม่)")
    click.echo(f"  1. devplan check --config {path}    ตรวจทุกอย่างที่ sync จะทำ โดยไม่เขียนอะไรเลย")
    click.echo(f"  2. devplan sync --config {path}     ประมวลผลจริง (อีเมลอยู่ใน outbox จนกว่าจะใส่ --send)")
    click.echo(f"  3. devplan status --config {path}   ดูประวัติการทำงาน")
    sys.exit(0 if report.ok else 1)


@cli.command()
@config_option(required=True)
@year_option()
@run_options
@handle_errors
def check(config_path: Path, year: int | None, full: bool, wait: bool) -> None:
    """ตรวจอย่างเดียว: อ่านทุกอย่างแล้วบอกว่า sync จะทำอะไร (จำนวนแถว แถวที่ต้องแก้ไข แท็บที่จะเขียน
    อีเมลที่จะส่งถึงใคร) โดยไม่เขียนสเปรดชีต ไม่สร้างไฟล์อีเมล และไม่ส่งอีเมล

    \b
    รหัสออก: 0 พร้อม sync, 1 มีแถวหรือหน่วยงานที่ต้องมีคนแก้ไข (กติกาเดียวกับ sync), 2 ไฟล์ตั้งค่า,
    3 สเปรดชีตต้นทาง, 70 ข้อผิดพลาดที่ไม่คาดคิด, 75 มี devplan อีกชุดกำลังทำงานกับไฟล์สถานะเดียวกัน
    """
    from pipeline.check import format_check, run_check
    from pipeline.history import recording
    from pipeline.lock import RunLock

    settings = _load_for_year(config_path, year)
    say = functools.partial(click.echo, err=True)
    with recording("check", settings):  # a check is in the run history too, marked as one
        with RunLock(settings.storage.state, wait=wait, on_wait=say):  # it may cache reads in the state file
            say(f"ตรวจ ปีงบประมาณ {settings.area.fiscal_year} จาก {settings.storage.location} (ไม่เขียนสิ่งใด)")
            result = run_check(settings, progress=CHECK_PROGRESS, on_wait=_wait_printer(), full=full)
        attention = needs_a_person(result.run)  # the same rule as sync's exit code
        codes = [*result.run.data.units["code"], *result.run.unit_problems]
        report = format_check(result, exit_code=attention.exit_code) + "\n" + "\n".join(attention.lines())
        click.echo(masked(report, keep=codes))
        sys.exit(attention.exit_code)


@cli.command()
@click.option(
    "--config", "config_path", type=click.Path(path_type=Path, dir_okay=False), default=Path("devplan.toml"),
    show_default=True, help="ไฟล์ตั้งค่า TOML ของเขตพื้นที่",
)
@click.option("--last", type=click.IntRange(1, 1000), default=10, show_default=True, help="จำนวนครั้งล่าสุดที่จะแสดง")
@handle_errors
def status(config_path: Path, last: int) -> None:
    """แสดงการทำงานครั้งล่าสุดจากไฟล์สถานะ: เมื่อไร ใช้เวลาเท่าไร คำขอถึง Google อ่านใหม่หรือใช้ข้อมูลเดิม
    เขียนและส่งอะไร อะไรไม่สำเร็จ และรหัสออก"""
    from pipeline.history import format_runs
    from pipeline.state import State

    settings = _load(config_path)
    path = settings.storage.state
    if path is None or not Path(path).exists():
        click.echo(f"ยังไม่มีประวัติการทำงาน (ยังไม่มีไฟล์สถานะ {path}): สั่ง devplan check หรือ devplan sync ก่อน")
        return
    with State(path) as state:
        runs = state.runs(last)
    codes = {code for run in runs for code in (run.details.get("failed") or {})}  # unit codes, not IDs
    click.echo(f"ประวัติการทำงาน {len(runs)} ครั้งล่าสุด (ไฟล์สถานะ {path})")
    click.echo(masked(format_runs(runs, settings.output.dashboard), keep=codes))


def main() -> None:
    try:
        try:
            cli(prog_name="devplan")
        finally:
            sys.stdout.flush()  # here, not at exit, where a closed pipe would print a complaint
    except BrokenPipeError:
        _quiet_stdout()
        sys.exit(EXIT_BROKEN_PIPE)
