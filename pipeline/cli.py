"""Command line: parses options, calls the library, prints what it returns, turns its errors into clear messages.

The only module that imports click. What is printed is written by ``pipeline.present``
(reports), ``pipeline.terminal`` (masking, failures) and ``pipeline.progress`` (progress on
stderr). Heavy libraries are imported inside commands so ``devplan --help`` stays instant.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable

import click

from pipeline import __version__, commands  # commands imports what it needs when a command runs
from pipeline.defaults import DEMO_CONFIG
from pipeline.terminal import log_to_stderr, masked

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


class Devplan(click.Group):
    """The command group: an error from any command becomes its Thai message and exit code.

    Exit codes: 2 config, 3 source, 4 writing results, 5 sending mail, 75 another run holds
    the state file, 70 anything unforeseen (with the hint to rerun with --debug); a traceback
    only with --debug (``pipeline.terminal.failure``).
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.ClickException as exc:
            vars(exc)["message"] = masked(exc.message)  # click prints usage errors itself, with exit code 2
            raise
        except (click.exceptions.Exit, click.exceptions.Abort):
            raise  # a prompt left with Ctrl-D or Ctrl-C (exit 1)
        except (Exception, KeyboardInterrupt) as exc:  # a PipelineError, Ctrl-C, a closed pipe, the unforeseen
            import traceback

            from pipeline.terminal import failure

            text, exit_code = failure(exc, traceback.format_exc() if ctx.obj else "")
            if text:
                _say(text)
            sys.exit(exit_code)


def config_option(default: Path | None = None, required: bool = False) -> Decorator:
    # click 8.3 treats an explicit ``default=None`` as a value given, so only pass a real default
    chosen: dict[str, Any] = {"required": True} if required else {"default": default, "show_default": default is not None}
    return click.option(
        "--config", "config_path", type=click.Path(path_type=Path, dir_okay=False), **chosen,
        help="ไฟล์ตั้งค่า TOML (ตัวอย่าง: config/demo.toml หรือ devplan.toml ที่ devplan init เขียนไว้)",
    )


def year_option(what: str = "") -> Decorator:
    """``--year``: the fiscal year, over the config's; errors about it name the flag."""
    return click.option("--year", type=int, default=None, help=f"ปีงบประมาณ พ.ศ. {what}(แทนค่าในไฟล์ตั้งค่า)")


wait_option = click.option(
    "--wait", is_flag=True,
    help="ถ้ามี devplan อีกชุดกำลังทำงานกับไฟล์สถานะเดียวกัน ให้รอจนเสร็จ (ค่าเริ่มต้น: เลิกทันที)",
)


def run_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--full`` and ``--wait``, shared by the commands that read the whole area (sync, check)."""
    command = wait_option(command)
    command = click.option("--full", is_flag=True, help="อ่านสเปรดชีตทุกไฟล์ใหม่ทั้งหมด แม้ไม่มีการแก้ไขตั้งแต่ครั้งก่อน")(command)
    return command


def sample_options(command: Callable[..., Any]) -> Callable[..., Any]:
    command = click.option("--seed", type=int, default=2562, show_default=True, help="ค่าตั้งต้นสุ่ม: ค่าเดียวกันได้ข้อมูลเดียวกัน")(command)
    command = click.option("--schools", type=click.IntRange(1, 500), default=None, help="จำนวนโรงเรียน (ค่าเริ่มต้น: ขนาดเท่าเขตจริง ~165)")(command)
    return command


def _load(config_path: Path, year: int | None = None) -> Any:
    """The settings of ``config_path``, ``--year`` (when given) over the file's fiscal year, errors naming the flag."""
    from pipeline.config import load_settings

    return load_settings(config_path, {"area.fiscal_year": year}, flags={"area.fiscal_year": "--year"})


def _say(text: str) -> None:
    click.echo(text, err=True)


def _show(shown: Any) -> None:
    """Print what a command returned (``commands.Shown``), masked but its unit codes, and exit with its code."""
    click.echo(masked(shown.text, keep=shown.codes) if shown.mask else shown.text)
    sys.exit(shown.exit_code)


@click.group(cls=Devplan, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="devplan")
@click.option("--debug", is_flag=True, help="แสดง traceback เมื่อเกิดข้อผิดพลาด (สำหรับผู้ดูแลระบบ)")
@click.option("-v", "--verbose", is_flag=True, help="แสดงบันทึกการทำงานโดยละเอียด")
@click.pass_context
def cli(ctx: click.Context, debug: bool, verbose: bool) -> None:
    """devplan: รวบรวมแบบสำรวจและ ID Plan จาก Google Sheets คำนวณตัวชี้วัดตามแผนพัฒนาครู
    และบุคลากร แล้วเขียนสรุปผลกลับลงชีตและส่งอีเมลถึงทุกโรงเรียน"""
    ctx.obj = debug
    log_to_stderr(debug, verbose)


@cli.command()
@click.option("--out", "out", type=click.Path(path_type=Path, file_okay=False), required=True, help="โฟลเดอร์ที่จะสร้างเขตตัวอย่าง")
@sample_options
@config_option(DEMO_CONFIG)
def sample(out: Path, schools: int | None, seed: int, config_path: Path) -> None:
    """สร้างข้อมูลเขตพื้นที่ตัวอย่าง (ทะเบียน แบบสำรวจ และ ID Plan ทุกโรงเรียน) เป็นไฟล์ .xlsx"""
    _show(commands.sample(out, config_path, schools, seed))


@cli.command()
@click.option("--out", "out", type=click.Path(path_type=Path, file_okay=False), default=Path("demo-area"), show_default=True, help="โฟลเดอร์ผลลัพธ์")
@sample_options
def demo(out: Path, schools: int | None, seed: int) -> None:
    """สร้างเขตตัวอย่างแล้วประมวลผลทั้งหมดในโฟลเดอร์เดียว (ไม่ส่งอีเมลจริง)"""
    _show(commands.demo(out, schools, seed, say=_say))


@cli.command()
@config_option(required=True)
@year_option()
@click.option("--send", is_flag=True, help="ส่งอีเมลจริงผ่าน SMTP เฉพาะฉบับที่ผู้อำนวยการยังไม่ได้รับ (ค่าเริ่มต้น: เขียนไฟล์ .eml ไว้ใน outbox เท่านั้น)")
@click.option("--resend", is_flag=True, help="ใช้กับ --send: ส่งอีกครั้งแม้สรุปผลไม่เปลี่ยนหรือยังไม่ถึงรอบตาม mail.cadence "
              "(ทุกหน่วยงาน เว้นแต่ระบุ --unit)")
@click.option("--unit", "units", metavar="CODE", multiple=True,
              help="ใช้กับ --send: ส่งเฉพาะหน่วยงานรหัสนี้ (ระบุได้หลายครั้ง) เช่น --send --resend --unit 1067020001 "
                   "ส่งฉบับที่ไม่แน่ใจว่าถึงแล้วหรือไม่อีกครั้งถึงผู้อำนวยการคนนั้นคนเดียว "
                   "(ถ้าโรงเรียนได้รับฉบับนั้นแล้ว ให้บันทึกด้วย devplan confirm-sent แทน)")
@click.option("--to", "test_to", metavar="ADDRESS", default=None, help="ใช้กับ --send: ส่งทุกฉบับไปที่อีเมลทดสอบนี้แทน (ไม่นับว่าส่งถึงผู้อำนวยการแล้ว)")
@click.option("--new-state", is_flag=True,
              help="ใช้กับ --send: ยืนยันว่าตั้งใจใช้ไฟล์สถานะนี้ แม้แดชบอร์ดบันทึกการส่งอีเมลที่ไฟล์สถานะไม่มี "
                   "(ไฟล์ใหม่ หรือคืนจากสำเนาสำรองที่เก่ากว่า): ส่งถึงผู้อำนวยการทุกคนที่ไฟล์สถานะไม่มีบันทึกว่าได้รับแล้ว")
@run_options
def sync(
    config_path: Path, year: int | None, send: bool, resend: bool, units: tuple[str, ...], test_to: str | None,
    new_state: bool, wait: bool, full: bool,
) -> None:
    """ประมวลผลทั้งหมด: อ่านข้อมูล จับคู่ คำนวณตัวชี้วัด เขียนสรุปผลลงชีต และเตรียม/ส่งอีเมล

    \b
    รหัสออก: 0 เรียบร้อย, 1 เสร็จแต่มีแถวหรือหน่วยงานที่ต้องมีคนแก้ไข, 2 ไฟล์ตั้งค่า,
    3 สเปรดชีตต้นทาง, 4 เขียนผลลัพธ์, 5 ส่งอีเมล, 70 ข้อผิดพลาดที่ไม่คาดคิด,
    75 มี devplan อีกชุดกำลังทำงานกับไฟล์สถานะเดียวกัน
    """
    needs_send = [flag for flag, given in (("--resend", resend), ("--unit", units), ("--to", test_to is not None),
                                           ("--new-state", new_state)) if given]
    if needs_send and not send:
        raise click.UsageError(f"{needs_send[0]} ใช้ได้เฉพาะคู่กับ --send")
    if test_to is not None and "@" not in test_to:
        raise click.BadParameter(f"'{test_to}' ไม่ใช่ที่อยู่อีเมล", param_hint="--to")
    settings = _load(config_path, year=year)
    _show(commands.sync_area(settings, say=_say, send=send, resend=resend, units=units, test_to=test_to,
                             new_state=new_state, full=full, wait=wait))


@cli.command()
@config_option(required=True)
@year_option()
@run_options
def check(config_path: Path, year: int | None, full: bool, wait: bool) -> None:
    """ตรวจอย่างเดียว: อ่านทุกอย่างแล้วบอกว่า sync จะทำอะไร (จำนวนแถว แถวที่ต้องแก้ไข แท็บที่จะเขียน
    อีเมลที่จะส่งถึงใคร) โดยไม่เขียนสเปรดชีต ไม่สร้างไฟล์อีเมล และไม่ส่งอีเมล

    \b
    รหัสออก: 0 พร้อม sync, 1 มีแถวหรือหน่วยงานที่ต้องมีคนแก้ไข (กติกาเดียวกับ sync), 2 ไฟล์ตั้งค่า,
    3 สเปรดชีตต้นทาง, 70 ข้อผิดพลาดที่ไม่คาดคิด, 75 มี devplan อีกชุดกำลังทำงานกับไฟล์สถานะเดียวกัน
    """
    _show(commands.check_area(_load(config_path, year=year), say=_say, full=full, wait=wait))


@cli.command("confirm-sent")
@config_option(required=True)
@click.option("--unit", metavar="CODE", required=True,
              help="รหัสหน่วยงานที่ devplan แจ้งว่าไม่แน่ใจว่าอีเมลถึงผู้รับหรือไม่ (ครั้งละหนึ่งหน่วยงาน)")
@wait_option
def confirm_sent(config_path: Path, unit: str, wait: bool) -> None:
    """บันทึกว่าอีเมลสรุปผลที่ devplan ไม่แน่ใจว่าถึงผู้รับหรือไม่ ถึงผู้อำนวยการแล้ว (เมื่อตรวจกับโรงเรียนแล้ว)

    ไม่ส่งอีเมลใด ๆ: sync ครั้งต่อไปจะไม่ส่งฉบับนั้นซ้ำและไม่แจ้งว่าไม่แน่ใจอีก
    ถ้าโรงเรียนยังไม่ได้รับ ให้ส่งอีกครั้งด้วย devplan sync --send --resend --unit CODE แทน

    \b
    รหัสออก: 0 บันทึกแล้ว, 2 หน่วยงานนี้ไม่มีอีเมลที่ไม่แน่ใจ (ไม่ได้บันทึกสิ่งใด) หรือไฟล์ตั้งค่าผิด,
    75 มี devplan อีกชุดกำลังทำงานกับไฟล์สถานะเดียวกัน
    """
    _show(commands.confirm_sent(_load(config_path), unit, say=_say, wait=wait))


@cli.command()
@config_option()
@click.option("--year", type=int, default=None, help="ปีงบประมาณ พ.ศ. ที่จะแสดงเป้าหมาย")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def indicators(config_path: Path | None, year: int | None, fmt: str) -> None:
    """แสดงตัวชี้วัดทั้งแปดตามแผน พร้อมเป้าหมายของปีงบประมาณ"""
    from pipeline.present import list_indicators

    click.echo(list_indicators(config_path, year, as_json=fmt == "json"))


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
def report(config_path: Path, year: int | None, fmt: str, engine: str | None, out: Path | None) -> None:
    """เขียนรายงานความก้าวหน้าตามแผน: ตารางของแผนพร้อมผลปีนี้ ทั้งเขตและรายอำเภอ (PDF หรือ HTML)"""
    _show(commands.write_area_report(_load(config_path, year=year), fmt, out, engine, say=_say))


@cli.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--as", "kind", type=click.Choice(["survey"]), required=True,
              help="ไฟล์นี้คืออะไร: survey = คำตอบแบบสำรวจที่ดาวน์โหลดจาก Google Forms")
@config_option(required=True)
def import_file(file: Path, kind: str, config_path: Path) -> None:
    """นำไฟล์คำตอบที่ดาวน์โหลดจาก Google Forms (.csv หรือ .xlsx) เข้าเป็นแท็บคำตอบของแบบสำรวจ

    แทนที่แท็บคำตอบเดิมทั้งแท็บ ค่าทุกช่องคงเดิมตามไฟล์"""
    from pipeline.importer import import_into_area

    click.echo(import_into_area(file, _load(config_path)))


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
def init(folder: Path, assume_yes: bool, force: bool, **given: Any) -> None:
    """เริ่มต้นเขตพื้นที่ใหม่: ถามข้อมูลไม่กี่ข้อ เขียนไฟล์ตั้งค่า FOLDER/devplan.toml (มีคำอธิบายทุกส่วน)
    แล้วตรวจว่า devplan เข้าถึงสเปรดชีตทุกไฟล์ที่ต้องอ่านหรือเขียนได้หรือไม่

    \b
    รหัสออก: 0 เข้าถึงได้ครบ, 1 มีสเปรดชีตที่ต้องแชร์หรือแก้ไข (ตารางบอกว่าไฟล์ใด แชร์ให้ใคร สิทธิ์ใด),
    2 ตัวเลือกหรือไฟล์ตั้งค่าผิด
    """
    # ``given``: the answers given as flags (--name, --office-code, --year, ...); the others are asked
    _show(commands.init_area(folder, _ask, say=_say, force=force, assume_yes=assume_yes, **given))


def _ask(question: Any) -> Any:
    """Put one of init's questions (``pipeline.init.Question``) to the person at the terminal."""
    kinds = {"year": click.IntRange(2500, 2700), "where": click.Choice(["google", "local"]),
             "folder": click.Path(file_okay=False)}
    return click.prompt(question.text, default=question.default, type=kinds.get(question.kind),
                        show_default=question.kind != "file")


@cli.command()
@config_option(Path("devplan.toml"))
@click.option("--last", type=click.IntRange(1, 1000), default=10, show_default=True, help="จำนวนครั้งล่าสุดที่จะแสดง")
def status(config_path: Path, last: int) -> None:
    """แสดงการทำงานครั้งล่าสุดจากไฟล์สถานะ: เมื่อไร ใช้เวลาเท่าไร คำขอถึง Google อ่านใหม่หรือใช้ข้อมูลเดิม
    เขียนและส่งอะไร อะไรไม่สำเร็จ และรหัสออก"""
    from pipeline.history import last_runs

    text, codes = last_runs(_load(config_path), last)
    click.echo(masked(text, keep=codes))


#: Python's cyclic collector, paced for one run that builds many small objects and exits: by default it runs
#: every 700 new objects and re-scans the rows a run keeps, about 15% of a large area's CPU (1,000 schools:
#: prepare 5.65-5.75 -> 4.92-5.05 s CPU, the same peak memory); every 10,000 it costs a few percent.
RUN_GC_THRESHOLD = (10_000, 10, 10)


def main() -> None:
    import gc

    from pipeline.terminal import leave, run_command_line

    gc.set_threshold(*RUN_GC_THRESHOLD)
    try:
        run_command_line(lambda: cli(prog_name="devplan"))
    except SystemExit as done:  # click ends every command with one: its code is the run's
        leave(done.code)
    leave(0)
