"""The run: collect → normalize → indicators → render → publish → deliver.

The only place the stages meet. Each stage is a function of its inputs; this
module wires them, in order, for one fiscal year.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable

from pipeline import history
from pipeline.collect import read_idplans, read_sources
from pipeline.config import Settings
from pipeline.deliver import Delivery, SendPolicy, SmtpSettings, deliver
from pipeline.indicators import Scores, load_indicators, measure
from pipeline.errors import PipelineError
from pipeline.normalize import Normalized, leave_out, normalize, unit_codes
from pipeline.publish import Published, publish
from pipeline.render import build_environment, keep_unit_codes
from pipeline.state import State
from pipeline.summaries import RunFacts, area_summary, unit_summaries
from pipeline.workbook import Workbook, open_workbook

log = logging.getLogger(__name__)


@dataclass
class SyncResult:
    settings: Settings
    data: Normalized
    scores: Scores
    area: dict[str, Any]
    published: Published
    delivery: Delivery
    read_calls: int
    #: unit code -> why it was left out (its spreadsheet could not be read or written)
    unit_problems: dict[str, PipelineError] = field(default_factory=dict)
    #: requests sent to Google, by kind (empty for the local backend)
    requests: dict[str, int] = field(default_factory=dict)


def run_sync(
    settings: Settings,
    *,
    workbook: Workbook | None = None,
    smtp: SmtpSettings | None = None,
    today: date | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    full: bool = False,
    on_wait: Callable[[str, float, str], None] | None = None,
    send_policy: SendPolicy = SendPolicy(),
    dry_run: bool = False,
) -> SyncResult:
    """One full run. Mail is sent only when ``smtp`` is given; it is always written to the outbox.

    ``full`` reads every spreadsheet again even if the state file says it has not changed.
    ``send_policy`` says which messages go out; the state file's send log says what each
    director was sent before. The caller holds the state file's lock (``pipeline.lock``).
    ``dry_run`` (``devplan check``) reads and computes everything but writes nothing: no
    spreadsheet, no outbox, no mail; ``published.written`` then lists what would be written.
    """
    indicators = load_indicators(settings.indicators.file, settings.vocabulary.development_kinds)
    env = build_environment(settings.output.templates)
    with State(settings.storage.state) as state:
        book = workbook or open_workbook(settings.storage, state, full=full, on_wait=on_wait)
        book = history.observe(book)  # counts reads for the run history (only inside a recorded run)
        result = _run(
            settings, book, state, indicators, env, None if dry_run else smtp, today, progress, send_policy, dry_run
        )
        history.observed(result)
        return result


def _run(
    settings: Settings, book: Workbook, state: State, indicators: Any, env: Any,
    smtp: SmtpSettings | None, today: date | None, progress: Callable[[str, int, int], None] | None,
    send_policy: SendPolicy = SendPolicy(),
    dry_run: bool = False,
) -> SyncResult:
    raw = read_sources(book, settings)
    codes = unit_codes(raw.units, settings.area.office_code)
    keep_unit_codes(env, codes)  # the roster's codes, not IDs: every other long number is masked
    raw = read_idplans(book, settings, raw, codes, progress)
    problems: dict[str, PipelineError] = dict(raw.unit_problems)
    data = leave_out(normalize(raw, settings), {c: str(e) for c, e in problems.items()}, _keys(settings, problems))
    log.info("normalized: %d staff, %d quarantined rows, %d notes", len(data.staff), len(data.quarantine), len(data.notes))
    scores = measure(data, indicators, settings.area.fiscal_year)

    facts = RunFacts(
        fiscal_year=settings.area.fiscal_year,
        generated_on=today or date.today(),
        area_name=settings.area.name,
        area_short_name=settings.area.short_name or settings.area.name,
        summary_tab=settings.output.summary_tab,
    )
    units = unit_summaries(data, scores, facts)
    area = area_summary(data, scores, facts, settings)
    published = publish(
        book, env, units, raw.idplan_keys, area,
        settings.output.summary_tab, settings.output.dashboard, state, progress, dry_run=dry_run,
    )
    problems.update(published.failed)
    delivery = deliver(
        env, units, settings.mail.sender, settings.output.outbox, smtp, progress,
        state=state, policy=send_policy, today=facts.generated_on, dry_run=dry_run,
    )
    counts = getattr(getattr(book, "http", None), "counts", None)
    requests = {} if counts is None else {
        "sheets_read": counts.sheets_read, "sheets_write": counts.sheets_write, "drive": counts.drive,
        "retries": counts.retries, "waited_seconds": round(counts.waited, 3),
    }
    return SyncResult(settings, data, scores, area, published, delivery, raw.read_calls, problems, requests)


def _keys(settings: Settings, problems: dict[str, PipelineError]) -> dict[str, str]:
    return {code: settings.sources.idplan.key_for(code) for code in problems}
