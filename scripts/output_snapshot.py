#!/usr/bin/env python3
"""The demo's outputs, normalized, so two commits can be compared.

    .venv/bin/python scripts/output_snapshot.py DIR        # write every output as a text file into DIR
    .venv/bin/python scripts/output_snapshot.py --fixture  # rewrite tests/fixtures/demo-outputs.json

Runs ``devplan demo`` (the sample area, fixed seed, then a sync) and ``devplan report
--format html`` in a temporary folder, and takes what a person gets from them:

- ``sheets/<key>/<tab>``: the cell values of every tab devplan writes (the summary tab of
  each ID Plan spreadsheet, every tab of the dashboard), one JSON list per row, so a
  number and the same digits as text differ;
- ``outbox/<code>.subject`` / ``.txt`` / ``.html``: each e-mail's subject and bodies;
- ``report.html``: the area report; ``stdout.txt``: what the demo printed.

The run's own date is replaced by ``<RUN DATE>``, the temporary folder by ``<OUT>`` and this
checkout's folder (in the path of the config printed) by ``<REPO>``.
tests/test_demo_outputs.py compares a sha256 of each against the fixture; when they
differ, run this script with DIR on both commits and ``diff -r`` the two folders. A
commit that rewrites the fixture must say why the outputs changed.
"""

from __future__ import annotations

import argparse
import email
import hashlib
import json
import sys
import tempfile
from datetime import date
from email.policy import default as default_policy
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

FIXTURE = REPO / "tests" / "fixtures" / "demo-outputs.json"
DEMO_CONFIG = REPO / "config" / "demo.toml"
SCHOOLS, SEED = 165, 2562
RUN_DATE = "<RUN DATE>"


def run_demo(out: Path, schools: int = SCHOOLS, seed: int = SEED) -> str:
    """``devplan demo`` then ``devplan report --format html`` into ``out``; what the demo printed."""
    from click.testing import CliRunner

    from pipeline.cli import cli

    runner = CliRunner()
    demo = runner.invoke(cli, ["demo", "--out", str(out), "--schools", str(schools), "--seed", str(seed)])
    if demo.exit_code != 0:
        raise RuntimeError(f"devplan demo exited {demo.exit_code}:\n{demo.output}") from demo.exception
    env = {
        "DEVPLAN_STORAGE_PATH": str(out / "sheets"),
        "DEVPLAN_OUTBOX": str(out / "outbox"),
        "DEVPLAN_STATE": str(out / "devplan-state.sqlite"),
    }
    report = runner.invoke(
        cli, ["report", "--config", str(DEMO_CONFIG), "--format", "html", "--out", str(out / "report.html")], env=env
    )
    if report.exit_code != 0:
        raise RuntimeError(f"devplan report exited {report.exit_code}:\n{report.output}") from report.exception
    return demo.stdout


def outputs(out: Path, printed: str, run_dates: set[date]) -> dict[str, str]:
    """Name -> normalized text of every output of a demo run in ``out``."""
    from pipeline.config import load_settings
    from pipeline.thai import thai_date
    from pipeline.workbook.local import LocalWorkbook

    settings = load_settings(DEMO_CONFIG, {"storage.path": str(out / "sheets")})
    book = LocalWorkbook(out / "sheets")
    found: dict[str, str] = {}
    for key in book.keys():
        tabs = book.tabs(key)
        mine = tabs if key == settings.output.dashboard else [t for t in tabs if t == settings.output.summary_tab]
        for tab, rows in book.read(key, mine).items() if mine else ():
            lines = [json.dumps(row, ensure_ascii=False, default=str) for row in rows]
            found[f"sheets/{key}/{tab}"] = "\n".join(lines) + "\n"
    for path in sorted((out / "outbox").glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=default_policy)
        found[f"outbox/{path.stem}.subject"] = str(message["Subject"]) + "\n"
        found[f"outbox/{path.stem}.txt"] = message.get_body(preferencelist=("plain",)).get_content()
        found[f"outbox/{path.stem}.html"] = message.get_body(preferencelist=("html",)).get_content()
    found["report.html"] = (out / "report.html").read_text(encoding="utf-8")
    found["stdout.txt"] = printed.replace(str(out), "<OUT>").replace(str(REPO), "<REPO>")  # the config's path
    shown = [form for day in run_dates for form in (thai_date(day), day.isoformat())]
    for name, text in found.items():
        for form in shown:
            text = text.replace(form, RUN_DATE)
        found[name] = text
    return found


def snapshot(schools: int = SCHOOLS, seed: int = SEED) -> dict[str, str]:
    """Run the demo in a temporary folder and return its normalized outputs."""
    with tempfile.TemporaryDirectory(prefix="devplan-snapshot-") as folder:
        out = Path(folder) / "demo"
        before = date.today()
        printed = run_demo(out, schools, seed)
        return outputs(out, printed, {before, date.today()})


def digests(found: dict[str, str]) -> dict[str, str]:
    return {name: hashlib.sha256(text.encode("utf-8")).hexdigest() for name, text in sorted(found.items())}


def fixture(found: dict[str, str], schools: int = SCHOOLS, seed: int = SEED) -> dict[str, object]:
    kinds = {"sheets": 0, "outbox": 0}
    for name in found:
        head = name.split("/", 1)[0]
        if head in kinds:
            kinds[head] += 1
    return {"schools": schools, "seed": seed, "counts": kinds, "digests": digests(found)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", nargs="?", type=Path, help="write every normalized output here")
    parser.add_argument("--fixture", action="store_true", help=f"rewrite {FIXTURE.relative_to(REPO)}")
    parser.add_argument("--schools", type=int, default=SCHOOLS)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    if not args.folder and not args.fixture:
        parser.error("give a folder, --fixture, or both")
    found = snapshot(args.schools, args.seed)
    if args.folder:
        for name, text in found.items():
            path = args.folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        (args.folder / "digests.json").write_text(
            json.dumps(fixture(found, args.schools, args.seed), ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
        )
        print(f"{len(found)} outputs written to {args.folder}")
    if args.fixture:
        FIXTURE.write_text(
            json.dumps(fixture(found, args.schools, args.seed), ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
        )
        print(f"{FIXTURE.relative_to(REPO)} rewritten: {len(found)} outputs")


if __name__ == "__main__":
    main()
