"""The run history (``devplan status``): IDs masked in every row, each row looked at once, memory bounded."""

from __future__ import annotations

import tracemalloc
from datetime import datetime

from tests.conftest import make_id
from pipeline.history import masked, recording
from pipeline.state import RunRecord, State


def _older_row(state: State, national_id: str) -> int:
    """A row as a devplan older than the masking stored it: an ID in plain sight."""
    return state.record_run(RunRecord("sync", datetime(2026, 1, 5, 2, 0), 3.0, 3, {"error": f"แถวของ {national_id}"}))


def _details(settings, number: int) -> dict:
    with State(settings.storage.state) as state:
        return next(run.details for run in state.runs(last=1000) if run.number == number)


def test_a_recorded_run_masks_older_rows_and_later_ones_an_older_devplan_adds(demo_settings):
    first, second = make_id(1), make_id(2)
    with State(demo_settings.storage.state) as state:
        old = _older_row(state, first)
    with recording("check", demo_settings):
        pass
    assert _details(demo_settings, old) == {"error": f"แถวของ x-xxxx-xxxxx-{first[10:12]}-{first[12]}"}

    # A state file shared with an older devplan again: the row it adds is masked by the next run too.
    with State(demo_settings.storage.state) as state:
        later = _older_row(state, second)
    with recording("check", demo_settings):
        pass
    assert _details(demo_settings, later) == {"error": f"แถวของ x-xxxx-xxxxx-{second[10:12]}-{second[12]}"}
    with State(demo_settings.storage.state) as state:
        assert [run.kind for run in state.runs(last=10)] == ["check", "sync", "check", "sync"]


def test_masking_a_large_areas_record_keeps_one_copy_of_its_codes():
    # 3,000 units: each value is masked with the same codes. Frozen anew for each value, the codes were kept
    # once per value by mask_ids_in_text's memory of its results: 3,000 sets of 3,000 codes, over 300 MB.
    codes = {f"10{n:08d}" for n in range(3000)}
    details = {"read": [f"idplan-{code}" for code in sorted(codes)], "failed": {code: "x" for code in codes}}
    tracemalloc.start()
    try:
        shown = masked(details, codes)
        kept, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert shown == details  # unit codes are codes, not IDs: they stay
    assert kept < 30_000_000, f"{kept / 1e6:.0f} MB kept after masking"
