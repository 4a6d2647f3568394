"""Outputs that cannot have changed since devplan last made them: not rendered, written or built again.

A unit's summary tab and e-mail are a function of its ``UnitSummary`` (the run's date shows only in
their dated parts, which their fingerprints leave out), devplan's code, templates and settings
(``fingerprints.program``), the fiscal phase of the run's date, and which digit runs the templates leave
unmasked (the roster's unit codes). ``made_from`` hashes all of it; the state file keeps, per unit,
that hash beside the fingerprints of the tab and e-mail it made and the outbox file then written
(``State.unit_outputs``). A unit is unchanged when its hash is the same, devplan's last write of its
tab is still there untouched (``publish.up_to_date``) and its outbox file is still the one devplan
wrote: publish then counts its tab unchanged without rendering it, and deliver builds its e-mail only
if it must go out. Any doubt (a state file from an older devplan, a value the hash cannot take, a file
touched) makes the unit's outputs again, as a full run does; ``--full`` makes every unit's again.

The dashboard is kept the same way tab by tab (``State.tab_outputs``): a tab is made from the fields
of the ``AreaSummary`` its template reads (``jinja2.meta``); while the dashboard is devplan's untouched
last write, a tab made from the same is not rendered, and only the tabs whose content changed are written.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Mapping

from jinja2 import Environment, meta, nodes
from pydantic import BaseModel

from pipeline.config import Settings
from pipeline.deliver import Delivery, Postbox
from pipeline import fingerprints
from pipeline.publish import DASHBOARD_TABS, DashboardTabs, Published, combined, dashboard_tabs, up_to_date
from pipeline.render import UNDATED, kept_codes, variables
from pipeline.state import State, UnitOutputs
from pipeline.summaries import AreaSummary, UnitSummary
from pipeline.thai import fiscal_phase
from pipeline.workbook import Workbook
from pipeline.workbook.local_files import file_version


def run_context(settings: Settings, env: Environment, day: date) -> str:
    """What every unit's outputs depend on this run besides its summary: devplan and the settings, the
    fiscal phase of ``day`` and the unit codes the templates leave unmasked."""
    phase = fiscal_phase(settings.area.fiscal_year, day)
    return fingerprints.digest([fingerprints.program(settings), phase, sorted(kept_codes(env))])


def made_from(summary: UnitSummary, context: str) -> str | None:
    """A hash of ``summary`` (its run date left out) and ``context``; None when the summary holds a value
    the hash cannot take for certain (then the unit is always made again)."""
    return _hashed([context, dataclasses.replace(summary, run=dataclasses.replace(summary.run, generated_on=UNDATED))])


def _plain(value: Any) -> Any:
    """A value ``json`` does not know, as one it does, named by its type so two kinds never look alike; a
    set in sorted order (its own order changes with the hash seed from one run to the next)."""
    kind = type(value)
    names = _FIELDS.get(kind)
    if names is None and dataclasses.is_dataclass(value):
        names = _FIELDS[kind] = [f.name for f in dataclasses.fields(value)]
    if names is not None:
        return [kind.__qualname__, *(getattr(value, name) for name in names)]
    if kind is date or kind is datetime:
        return [kind.__name__, value.isoformat()]
    if isinstance(value, BaseModel):  # the indicators' definitions
        return [kind.__qualname__, value.model_dump()]
    if kind is set or kind is frozenset:
        return ["set", sorted(json.dumps(item, default=_plain, ensure_ascii=False) for item in value)]
    raise TypeError(f"{kind.__qualname__} is not hashed")


#: dataclass -> its fields' names
_FIELDS: dict[type, list[str]] = {}


def dashboard_digests(env: Environment, area: AreaSummary, context: str) -> dict[str, str | None]:
    """Tab -> what the dashboard's tab is made from: the fields of ``area`` its template reads (the run's date
    left out; the first tab's also the last mailing, which publish adds to it) and ``context``; None for a
    template that includes others (then it is always rendered)."""
    undated = variables(dataclasses.replace(area, run=dataclasses.replace(area.run, generated_on=UNDATED)))
    fields: dict[str, str | None] = {}  # field -> its hash: several tabs read the same large field (needs)
    first = next(iter(DASHBOARD_TABS))
    found: dict[str, str | None] = {}
    for tab, template in dashboard_tabs(area).items():
        names = template_fields(env, template)
        if names is None:
            found[tab] = None
            continue
        if tab == first:
            names = names | {"mailed", "mail_in_doubt"}
        read = []
        for name in sorted(names & undated.keys()):
            if name not in fields:
                fields[name] = _hashed(undated[name])
            read.append([name, fields[name]])
        found[tab] = None if any(h is None for _, h in read) else _hashed([context, template, read])
    return found


def template_fields(env: Environment, name: str) -> frozenset[str] | None:
    """The names template ``name`` reads from its context; None when it includes, imports or extends another
    (what that one reads is not followed)."""
    source = env.loader.get_source(env, name)[0] if env.loader is not None else None
    if source is None:
        return None
    known = _TEMPLATE_FIELDS.get((name, source))
    if known is None:
        tree = env.parse(source)
        if any(True for _ in tree.find_all((nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends))):
            return None
        known = _TEMPLATE_FIELDS[(name, source)] = frozenset(meta.find_undeclared_variables(tree))
    return known


#: (template name, its text) -> the names it reads
_TEMPLATE_FIELDS: dict[tuple[str, str], frozenset[str]] = {}


def _hashed(value: Any) -> str | None:
    """A hash of ``value`` as ``_plain`` writes it, or None when it holds a value that cannot be hashed for certain."""
    try:
        text = json.dumps(value, default=_plain, ensure_ascii=False, check_circular=False)
    except (TypeError, ValueError):
        return None
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class Unchanged:
    """Each unit's ``made_from`` this run, and the units whose outputs are as devplan last made them."""

    #: unit code -> ``made_from`` its summary this run
    digests: dict[str, str | None] = field(default_factory=dict)
    #: unit code -> its outputs, known unchanged: neither rendered nor written again
    units: dict[str, UnitOutputs] = field(default_factory=dict)
    #: the dashboard's tab -> what it is made from this run (``dashboard_digests``)
    dashboard_digests: dict[str, str | None] = field(default_factory=dict)
    #: the dashboard's tabs known unchanged, and what devplan last wrote there
    dashboard: DashboardTabs = field(default_factory=DashboardTabs)

    @property
    def tabs(self) -> dict[str, str]:
        """Unit code -> its tab's fingerprint, for ``publish``."""
        return {code: outputs.tab for code, outputs in self.units.items()}

    @property
    def letters(self) -> dict[str, str]:
        """Unit code -> its e-mail's content hash, for ``plan_mail`` (units with an e-mail)."""
        return {code: outputs.letter for code, outputs in self.units.items() if outputs.letter is not None}


def find_unchanged(
    state: State, workbook: Workbook, postbox: Postbox, summaries: Mapping[str, UnitSummary], keys: Mapping[str, str],
    context: str, *, full: bool = False,
) -> Unchanged:
    """Every unit's ``made_from``, and which units' outputs are as devplan last made them (none with ``full``)."""
    found = Unchanged({code: made_from(summary, context) for code, summary in summaries.items()})
    if full:
        return found
    for code, last in state.unit_outputs().items():
        digest = found.digests.get(code)
        if (digest is not None and digest == last.made_from and keys.get(code) == last.spreadsheet
                and up_to_date(state, workbook, last.spreadsheet, last.tab)
                and (last.letter is None or file_version(postbox.path(code)) == last.eml)):
            found.units[code] = last
    return found


def find_unchanged_dashboard(
    state: State, workbook: Workbook, found: Unchanged, env: Environment, area: AreaSummary, key: str, context: str,
    *, full: bool = False,
) -> None:
    """Into ``found``: what each of the dashboard's tabs is made from, and, when the dashboard is still
    devplan's last write untouched, what each tab was then and which are unchanged (none with ``full``)."""
    found.dashboard_digests = dashboard_digests(env, area, context)
    last = state.tab_outputs(key)
    if full or not last or not up_to_date(state, workbook, key, combined({tab: p for tab, (_, p) in last.items()})):
        return
    known = {tab: print_ for tab, (made, print_) in last.items()
             if made is not None and found.dashboard_digests.get(tab) == made}
    found.dashboard = DashboardTabs(known, {tab: print_ for tab, (_, print_) in last.items()})


def remember_outputs(
    state: State, found: Unchanged, keys: Mapping[str, str], dashboard: str, published: Published, postbox: Postbox,
    delivery: Delivery,
) -> None:
    """After a sync's publish and deliver: what each unit's outputs and each dashboard tab were made from
    and what they are now.

    A unit whose tab was not written (it failed), or whose e-mail is not in the outbox as it was made,
    is forgotten, as is every dashboard tab when the dashboard was not written: the next run makes them again.
    """
    known = state.unit_outputs()
    made: dict[str, UnitOutputs] = {}
    dropped: list[str] = []
    for code, digest in found.digests.items():
        key = keys.get(code)
        tab = published.fingerprints.get(key) if key is not None and code not in published.failed else None
        letter = delivery.hashes.get(code)
        eml = file_version(postbox.path(code)) if letter is not None else None
        if digest is None or key is None or tab is None or (letter is not None and eml is None):
            if code in known:
                dropped.append(code)
            continue
        outputs = UnitOutputs(digest, key, tab, letter, eml)
        if known.get(code) != outputs:
            made[code] = outputs
    if made or dropped:
        state.record_unit_outputs(made, dropped)
    tabs = published.dashboard_tabs if dashboard in published.fingerprints else {}
    state.record_tab_outputs(dashboard, {tab: (found.dashboard_digests.get(tab), print_) for tab, print_ in tabs.items()})
