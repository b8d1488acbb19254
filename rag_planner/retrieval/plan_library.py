"""
Plan library: validated (task wording -> plan) examples, stored as JSON lines.

File format (``config/plan_library.jsonl``), UTF-8, one JSON object per line:

* line 1, the header::

    {"kind": "header", "format": "rag_planner.plan_library/1",
     "version": "2026.11.26-1", "count": 2400, "created_utc": "...",
     "generator": "make_library seed=7 templates=train", "description": "..."}

* every further line, one entry::

    {"id": "pick-00017", "family": "pick",
     "task": "Pick 3 units of SKU-48213 from A12-03 and bring them to PACK-4.",
     "plan": "NAVIGATE A12-03; SCAN A12-03; PICK SKU-48213 3; NAVIGATE PACK-4; ...",
     "conditions": {"carrying": false, "battery_pct": 100.0, "location": "",
                    "blocked": []},
     "provenance": {"source": "wording-generator", "template": "pick/07",
                    "validated_by": "rag_planner.domain.safety.validate_plan",
                    "library_version": "2026.11.26-1"}}

``id`` is unique (``[A-Za-z0-9_.:-]``, at most 64 chars), ``family`` one of
:data:`rag_planner.domain.task_families.FAMILIES`, ``plan`` the written plan grammar of
DESIGN.md, ``conditions`` the robot state the plan was validated against (and is
meant for: omitted keys take the :class:`RobotState` defaults), ``provenance`` who
made and who validated the entry.  Blank lines and lines starting with ``#`` are
ignored.  :func:`load_library` parses every plan and re-validates it with
:func:`rag_planner.domain.safety.validate_plan` under its conditions, and raises
:class:`LibraryError` naming the file, line and entry id of the first bad entry
(or of all of them with ``collect=True`` on :func:`check_library`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
import json
import os
from pathlib import Path
import re
import time
from typing import Iterable, Optional, Sequence

from rag_planner.domain.plan_grammar import format_plan, parse_plan, PlanParseError, Step
from rag_planner.domain.request import MAX_TASK_CHARS
from rag_planner.domain.robot_state import RobotState
from rag_planner.domain.safety import SafetyConfig, validate_plan
from rag_planner.domain.task_families import FAMILIES
from rag_planner.errors import LoadError

FORMAT = 'rag_planner.plan_library/1'
_ID_RE = re.compile(r'^[A-Za-z0-9_.:-]{1,64}$')
_CONDITION_KEYS = ('carrying', 'battery_pct', 'location', 'blocked')


class LibraryError(LoadError, ValueError):
    """The library file is unreadable or holds an entry that fails validation."""


@dataclass(frozen=True)
class LibraryEntry:
    """One validated example: a task wording and its plan."""

    id: str
    family: str
    task: str
    plan: tuple
    conditions: dict = field(default_factory=dict, hash=False, compare=True)
    provenance: dict = field(default_factory=dict, hash=False, compare=True)

    @property
    def plan_text(self) -> str:
        """Return the written plan ("; "-joined steps)."""
        return format_plan(self.plan)

    @property
    def template(self) -> str:
        """Return the wording template id from the provenance ('' if unknown)."""
        return str(self.provenance.get('template', ''))

    def state(self) -> RobotState:
        """Return the robot state the entry's conditions describe."""
        return conditions_state(self.conditions)

    def to_json(self) -> dict:
        """Return the JSON object of this entry."""
        return {'id': self.id, 'family': self.family, 'task': self.task,
                'plan': self.plan_text, 'conditions': dict(self.conditions),
                'provenance': dict(self.provenance)}


@dataclass(frozen=True)
class Library:
    """A loaded library: header fields plus entries."""

    version: str
    entries: tuple
    header: dict = field(default_factory=dict, hash=False)

    def __len__(self) -> int:
        """Return the number of entries."""
        return len(self.entries)

    def by_id(self) -> dict:
        """Return a dict id -> entry."""
        return {e.id: e for e in self.entries}


def conditions_state(conditions: dict) -> RobotState:
    """Build the :class:`RobotState` that a conditions dict describes."""
    return RobotState(location=str(conditions.get('location', '') or ''),
                      battery_pct=float(conditions.get('battery_pct', 100.0)),
                      carrying=bool(conditions.get('carrying', False)),
                      blocked=tuple(conditions.get('blocked', ()) or ()))


def check_entry(entry: LibraryEntry, cfg: Optional[SafetyConfig] = None) -> list:
    """Return the problems of one entry (empty when it is valid)."""
    problems = []
    if not isinstance(entry.id, str) or not _ID_RE.match(entry.id):
        problems.append('bad id {!r}'.format(entry.id))
    if entry.family not in FAMILIES:
        problems.append('unknown family {!r}'.format(entry.family))
    if not isinstance(entry.task, str) or not entry.task.strip():
        problems.append('empty task')
    elif len(entry.task) > MAX_TASK_CHARS:
        problems.append('task longer than {} chars'.format(MAX_TASK_CHARS))
    unknown = set(entry.conditions) - set(_CONDITION_KEYS)
    if unknown:
        problems.append('unknown condition key(s) {}'.format(sorted(unknown)))
    if not entry.plan:
        problems.append('empty plan')
    else:
        try:
            state = entry.state()
        except (TypeError, ValueError) as exc:
            problems.append('bad conditions: {}'.format(exc))
        else:
            result = validate_plan(list(entry.plan), state, cfg or SafetyConfig())
            if not result.ok:
                problems.extend(result.violations)
    return problems


def _entry_from_json(obj: dict, max_steps: int) -> LibraryEntry:
    for key in ('id', 'family', 'task', 'plan'):
        if key not in obj:
            raise LibraryError('missing key {!r}'.format(key))
    plan_field = obj['plan']
    if isinstance(plan_field, list):
        plan_field = '; '.join(str(s) for s in plan_field)
    if not isinstance(plan_field, str):
        raise LibraryError('plan must be a string')
    try:
        steps = tuple(parse_plan(plan_field, max_steps=max_steps))
    except PlanParseError as exc:
        raise LibraryError('plan does not parse: {}'.format(exc)) from exc
    conditions = obj.get('conditions') or {}
    provenance = obj.get('provenance') or {}
    if not isinstance(conditions, dict) or not isinstance(provenance, dict):
        raise LibraryError('conditions and provenance must be objects')
    return LibraryEntry(id=obj['id'], family=obj['family'], task=obj['task'], plan=steps,
                        conditions=conditions, provenance=provenance)


def read_library(path, cfg: Optional[SafetyConfig] = None, validate: bool = True) -> Library:
    """Read a library file, validating every entry; raise :class:`LibraryError`."""
    cfg = cfg or SafetyConfig()
    path = Path(path)
    try:
        lines = path.read_text(encoding='utf-8').splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise LibraryError('cannot read plan library {}: {}'.format(path, exc)) from exc
    header: dict = {}
    entries = []
    seen = {}
    for lineno, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith('#'):
            continue
        where = '{}:{}'.format(path, lineno)
        try:
            obj = json.loads(text)
        except ValueError as exc:
            raise LibraryError('{}: not valid JSON: {}'.format(where, exc)) from exc
        if not isinstance(obj, dict):
            raise LibraryError('{}: expected a JSON object'.format(where))
        if obj.get('kind') == 'header':
            if header or entries:
                raise LibraryError('{}: header must be the first record'.format(where))
            if obj.get('format') != FORMAT:
                raise LibraryError('{}: unknown library format {!r} (expected {!r})'.format(
                    where, obj.get('format'), FORMAT))
            header = obj
            continue
        label = obj.get('id', '?')
        try:
            entry = _entry_from_json(obj, cfg.max_steps)
        except LibraryError as exc:
            raise LibraryError('{}: entry {!r}: {}'.format(where, label, exc)) from exc
        if entry.id in seen:
            raise LibraryError('{}: entry {!r}: duplicate id (first at line {})'.format(
                where, entry.id, seen[entry.id]))
        seen[entry.id] = lineno
        if validate:
            problems = check_entry(entry, cfg)
            if problems:
                raise LibraryError('{}: entry {!r} fails validation: {}'.format(
                    where, entry.id, '; '.join(problems)))
        entries.append(entry)
    if not header:
        raise LibraryError('{}: missing header record (kind=header, format={})'.format(
            path, FORMAT))
    if 'count' in header and int(header['count']) != len(entries):
        raise LibraryError('{}: header says {} entries, file holds {}'.format(
            path, header['count'], len(entries)))
    return Library(version=str(header.get('version', '')), entries=tuple(entries),
                   header=header)


def check_library(entries: Iterable[LibraryEntry], cfg: Optional[SafetyConfig] = None,
                  collect: bool = False) -> list:
    """Validate entries; raise on the first bad one, or return all problems if ``collect``."""
    found = []
    ids = set()
    for entry in entries:
        problems = check_entry(entry, cfg)
        if entry.id in ids:
            problems.append('duplicate id')
        ids.add(entry.id)
        if problems:
            if not collect:
                raise LibraryError('entry {!r} fails validation: {}'.format(
                    entry.id, '; '.join(problems)))
            found.append((entry.id, problems))
    return found


def write_library(path, entries: Sequence[LibraryEntry], version: str,
                  cfg: Optional[SafetyConfig] = None, validate: bool = True,
                  **header_fields) -> Path:
    """Validate (unless told not to) and write entries atomically; return the path."""
    entries = list(entries)
    if validate:
        check_library(entries, cfg)
    header = {'kind': 'header', 'format': FORMAT, 'version': version, 'count': len(entries),
              'created_utc': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}
    header.update(header_fields)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name('.' + path.name + '.tmp')
    with open(tmp, 'w', encoding='utf-8') as handle:
        handle.write(json.dumps(header, sort_keys=True) + '\n')
        for entry in entries:
            handle.write(json.dumps(entry.to_json(), ensure_ascii=False) + '\n')
    os.replace(tmp, path)
    return path


def make_entry(entry_id: str, family: str, task: str, plan: Sequence[Step],
               conditions: Optional[dict] = None, **provenance) -> LibraryEntry:
    """Build an entry with default conditions and the given provenance fields."""
    cond = {'carrying': False, 'battery_pct': 100.0}
    cond.update(conditions or {})
    prov = {'validated_by': 'rag_planner.domain.safety.validate_plan'}
    prov.update(provenance)
    return LibraryEntry(id=entry_id, family=family, task=task, plan=tuple(plan),
                        conditions=cond, provenance=prov)
