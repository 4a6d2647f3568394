"""The demo's outputs are pinned: every sheet tab devplan writes, every e-mail, the report.

The fixture holds a sha256 of each output, normalized by ``scripts/output_snapshot.py``
(the run's date replaced by a placeholder). A change of code that is meant to leave
what people see alone must leave every digest alone. When a change is meant to change
the outputs, regenerate the fixture with ``scripts/output_snapshot.py --fixture`` and
say in the commit why they changed; to see what changed, run the script with a folder
on both commits and ``diff -r`` the two folders.
"""

from __future__ import annotations

import importlib.util
import json

import pytest

from pipeline.publish import DASHBOARD_TABS, SPENDING_TABS
from tests.conftest import FIXTURES, REPO

SCRIPT = REPO / "scripts" / "output_snapshot.py"


def _load_script():
    spec = importlib.util.spec_from_file_location("output_snapshot", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def snapshot():
    script = _load_script()
    expected = json.loads((FIXTURES / "demo-outputs.json").read_text(encoding="utf-8"))
    found = script.snapshot(expected["schools"], expected["seed"])
    return script, expected, found


def test_the_demo_writes_the_same_outputs(snapshot):
    script, expected, found = snapshot
    got = script.digests(found)
    missing = sorted(set(expected["digests"]) - set(got))
    extra = sorted(set(got) - set(expected["digests"]))
    changed = sorted(n for n in set(got) & set(expected["digests"]) if got[n] != expected["digests"][n])
    assert not (missing or extra or changed), (
        f"demo outputs differ: {len(changed)} changed {changed[:10]}, {len(missing)} missing {missing[:10]}, "
        f"{len(extra)} new {extra[:10]}; see scripts/output_snapshot.py for how to compare two commits"
    )
    assert script.fixture(found, expected["schools"], expected["seed"])["counts"] == expected["counts"]


def test_the_snapshot_covers_every_unit_and_leaves_out_the_run_date(snapshot):
    """The fixture is only worth something if it holds every output and nothing that moves by itself."""
    script, expected, found = snapshot
    units = expected["schools"] + 1  # every school and the office
    # + every dashboard tab: the demo records costs, so the spending tabs too
    dashboard = len(DASHBOARD_TABS) + len(SPENDING_TABS)
    assert expected["counts"] == {"sheets": units + dashboard, "outbox": 3 * units}
    assert "report.html" in found and "stdout.txt" in found
    dated = [name for name, text in found.items() if script.RUN_DATE in text]
    # every summary tab and the dashboard's first tab say when; every e-mail body and the report too
    assert len(dated) == units + 1 + 2 * units + 1
    assert "<OUT>" in found["stdout.txt"]
