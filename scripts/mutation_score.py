#!/usr/bin/env python3
"""Summarise `make mutation`: the mutation score per module, and every mutant that survived.

    .venv/bin/python scripts/mutation_score.py [mutation.log]

Reads the verdicts mutmut keeps in ``mutants/`` (``mutmut results --all true``) for the
mutants the run was given (listed in ``mutation.log``). Exits 1 when a mutant of the rules
that must never drift survives: whether a unit meets its target (``_row``'s comparison) and
whether a development's topic matches a survey need (``topic_matches`` and the containment it
rests on, ``pipeline.topics``' ``contains_either``, ``phrase_in`` and ``same_topic``).
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
#: functions whose every mutant a test must kill
MUST_KILL = (
    "pipeline.indicators.compute.x__row__", "pipeline.indicators.compute.x_topic_matches__",
    "pipeline.topics.x_contains_either__", "pipeline.topics.x_phrase_in__", "pipeline.topics.xǁTopicVocabularyǁsame_topic__",
)
KILLED = {"killed", "timeout"}


def verdicts(names: set[str]) -> dict[str, str]:
    mutmut = Path(sys.executable).with_name("mutmut")
    shown = subprocess.run([str(mutmut), "results", "--all", "true"], cwd=REPO, capture_output=True,
                           text=True, check=True).stdout
    found = {}
    for line in shown.splitlines():
        name, _, status = line.strip().rpartition(": ")
        if name in names:
            found[name] = status
    return found


def main() -> int:
    log = Path(sys.argv[1] if len(sys.argv) > 1 else REPO / "mutation.log").read_text(encoding="utf-8")
    names = set(re.findall(r"(pipeline\.\S+__mutmut_\d+)", log))
    if not names:
        print("no mutants in the log: did `mutmut run` run?", file=sys.stderr)
        return 2
    status = verdicts(names)
    by_module: dict[str, Counter[str]] = defaultdict(Counter)
    for name, verdict in status.items():
        by_module[name.split(".x")[0]][verdict] += 1
    total = Counter(status.values())
    print(f"{'module':32} {'mutants':>8} {'killed':>8} {'survived':>9} {'no tests':>9} {'score':>7}")
    for module, counts in sorted(by_module.items()) + [("all", total)]:
        tested = sum(counts.values()) - counts["no tests"]
        killed = sum(counts[k] for k in KILLED)
        score = f"{100 * killed / tested:.1f}%" if tested else "-"
        print(f"{module:32} {sum(counts.values()):>8} {killed:>8} {counts['survived']:>9} "
              f"{counts['no tests']:>9} {score:>7}")
    survivors = sorted(n for n, v in status.items() if v not in KILLED)
    if survivors:
        print(f"\nnot killed ({len(survivors)}; `.venv/bin/mutmut show NAME` shows the change):")
        for name in survivors:
            print(f"  {status[name]:10} {name}")
    must = [n for n in survivors if n.startswith(MUST_KILL)]
    checked = [n for n in status if n.startswith(MUST_KILL)]
    print(f"\ntarget boundary and topic matching: {len(checked) - len(must)} of {len(checked)} mutants killed")
    return 1 if must or not checked else 0


if __name__ == "__main__":
    sys.exit(main())
