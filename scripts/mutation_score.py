#!/usr/bin/env python3
"""Summarise `make mutation`: the mutation score per module, and every mutant not killed.

    .venv/bin/python scripts/mutation_score.py [mutation.log]

Reads the verdicts mutmut keeps in ``mutants/`` (``mutmut results --all true``) for the
mutants the run was given (listed in ``mutation.log``). The run's scope is the rules that must
never drift (MUTANTS in the Makefile: whether a unit meets its target, the fiscal year's bounds,
the 1 April checkpoint and the under-half rule, and whether two topic texts match), so the
script exits 1 when any of its mutants survives or no test reaches it.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
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
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
