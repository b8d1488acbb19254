"""
Plan grammar: steps, ids, parsing and formatting.

The written form of a plan is one step per line or ``;``-separated steps,
each ``ACTION ARG ARG``.  Actions and ids are case-insensitive on input and
normalised to upper case.  The grammar (see ``DESIGN.md``) fixes the actions,
their arity and the kind of id every argument must be:

=========  =========================  ====================================
action     args                       notes
=========  =========================  ====================================
NAVIGATE   location                   bin or station
SCAN       bin | tote | sku
PICK       sku qty                    qty: unsigned integer 0..999 here;
                                      the validator enforces 1..max_pick_qty
PLACE      location
LOAD       tote
UNLOAD     location
CHARGE     charger                    ``CHARGER-n``
WAIT       seconds                    1..600
HALT       (none)
REPORT     code [subject]             subject: any well-formed id
=========  =========================  ====================================

Ids: bin ``A12-03`` (zone A-F, aisle 01-40, bay 01-20), stations ``PACK-n``,
``DOCK-n``, ``CHARGER-n``, ``STAGING-n``, ``EXCEPTION-n`` (n 1-20, no leading
zero), tote ``TOTE-n`` (n 1-9999, no leading zero), sku ``SKU-ddddd``.

Round trip: ``parse_plan(format_plan(steps)) == steps`` for every list of
steps that parses.
"""

from __future__ import annotations

from dataclasses import dataclass
import re
from typing import Iterable, Optional, Sequence

ACTIONS: tuple[str, ...] = (
    'NAVIGATE', 'SCAN', 'PICK', 'PLACE', 'LOAD', 'UNLOAD', 'CHARGE', 'WAIT', 'HALT', 'REPORT',
)
REPORT_CODES: tuple[str, ...] = ('DONE', 'COUNT', 'SPILL', 'BLOCKED', 'MISSCAN', 'LOW_BATTERY')

_N_1_20 = r'(?:[1-9]|1[0-9]|20)'
BIN_RE = re.compile(r'^[A-F](?:0[1-9]|[1-3][0-9]|40)-(?:0[1-9]|1[0-9]|20)$')
STATION_RE = re.compile(r'^(PACK|DOCK|CHARGER|STAGING|EXCEPTION)-' + _N_1_20 + r'$')
TOTE_RE = re.compile(r'^TOTE-[1-9][0-9]{0,3}$')
SKU_RE = re.compile(r'^SKU-[0-9]{5}$')
QTY_RE = re.compile(r'^(?:0|[1-9][0-9]{0,2})$')
SECONDS_RE = re.compile(r'^[1-9][0-9]{0,2}$')
MAX_WAIT_S = 600
MAX_STEP_TEXT = 200

_STATION_KIND = {
    'PACK': 'pack', 'DOCK': 'dock', 'CHARGER': 'charger', 'STAGING': 'staging',
    'EXCEPTION': 'exception',
}
LOCATION_KINDS: frozenset = frozenset({'bin', 'pack', 'dock', 'charger', 'staging', 'exception'})
ID_KINDS: frozenset = LOCATION_KINDS | {'tote', 'sku'}


class PlanParseError(ValueError):
    """A plan or step does not follow the grammar."""


@dataclass(frozen=True)
class Step:
    """One plan step: an action and its (upper-case) arguments."""

    action: str
    args: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """Coerce ``args`` to a tuple so lists passed by callers stay hashable."""
        if not isinstance(self.args, tuple):
            object.__setattr__(self, 'args', tuple(self.args))

    def __str__(self) -> str:
        """Return the written form ``ACTION ARG ARG``."""
        return ' '.join((self.action,) + tuple(self.args))


def id_kind(token: object) -> Optional[str]:
    """
    Return the kind of a well-formed id, or None.

    Kinds: 'bin', 'pack', 'dock', 'charger', 'staging', 'exception', 'tote',
    'sku'.  Matching is case-insensitive; the canonical form has no leading
    zeros in station and tote numbers.
    """
    if not isinstance(token, str) or len(token) > 16:
        return None
    tok = token.strip().upper()
    if BIN_RE.match(tok):
        return 'bin'
    m = STATION_RE.match(tok)
    if m:
        return _STATION_KIND[m.group(1)]
    if TOTE_RE.match(tok):
        return 'tote'
    if SKU_RE.match(tok):
        return 'sku'
    return None


def is_location(token: object) -> bool:
    """Return True for a bin or station id (something the robot can drive to)."""
    return id_kind(token) in LOCATION_KINDS


def _expect_kind(action: str, pos: int, tok: str, kinds: Iterable[str]) -> None:
    kinds = tuple(kinds)
    kind = id_kind(tok)
    if kind not in kinds:
        what = ' or '.join(kinds) if len(kinds) < 4 else 'location (bin or station)'
        raise PlanParseError(
            f'{action}: argument {pos + 1} {tok!r} is not a well-formed {what} id')


_ARITY = {
    'NAVIGATE': (1, 1), 'SCAN': (1, 1), 'PICK': (2, 2), 'PLACE': (1, 1), 'LOAD': (1, 1),
    'UNLOAD': (1, 1), 'CHARGE': (1, 1), 'WAIT': (1, 1), 'HALT': (0, 0), 'REPORT': (1, 2),
}


def check_step(step: Step) -> Optional[str]:
    """
    Return why ``step`` breaks the grammar, or None when it is well formed.

    Unlike :func:`parse_step` this expects the canonical (upper-case) form,
    so it also catches hand-built ``Step`` objects with lower-case ids.
    """
    if not isinstance(step, Step):
        return f'not a Step: {type(step).__name__}'
    if not isinstance(step.action, str) or step.action not in ACTIONS:
        return f'unknown action {step.action!r}'
    if not all(isinstance(a, str) for a in step.args):
        return f'{step.action}: arguments must be strings'
    if any(a != a.strip().upper() or not a for a in step.args):
        return f'{step.action}: arguments must be non-empty upper-case ids'
    try:
        _check_args(step.action, step.args)
    except PlanParseError as exc:
        return str(exc)
    return None


def _check_args(action: str, args: Sequence[str]) -> None:
    lo, hi = _ARITY[action]
    if not lo <= len(args) <= hi:
        want = str(lo) if lo == hi else f'{lo}-{hi}'
        raise PlanParseError(f'{action} takes {want} argument(s), got {len(args)}')
    if action in ('NAVIGATE', 'PLACE', 'UNLOAD'):
        _expect_kind(action, 0, args[0], sorted(LOCATION_KINDS))
    elif action == 'SCAN':
        _expect_kind(action, 0, args[0], ('bin', 'tote', 'sku'))
    elif action == 'PICK':
        _expect_kind(action, 0, args[0], ('sku',))
        if not QTY_RE.match(args[1]):
            raise PlanParseError(f'PICK: quantity {args[1]!r} is not an unsigned integer < 1000')
    elif action == 'LOAD':
        _expect_kind(action, 0, args[0], ('tote',))
    elif action == 'CHARGE':
        _expect_kind(action, 0, args[0], ('charger',))
    elif action == 'WAIT':
        if not SECONDS_RE.match(args[0]) or not 1 <= int(args[0]) <= MAX_WAIT_S:
            raise PlanParseError(f'WAIT: seconds {args[0]!r} not an integer in 1..{MAX_WAIT_S}')
    elif action == 'REPORT':
        if args[0] not in REPORT_CODES:
            raise PlanParseError(
                f'REPORT: unknown code {args[0]!r} (expected one of {", ".join(REPORT_CODES)})')
        if len(args) == 2 and id_kind(args[1]) is None:
            raise PlanParseError(f'REPORT: subject {args[1]!r} is not a well-formed id')


def parse_step(text: str) -> Step:
    """Parse one step ``ACTION ARG ARG`` (case-insensitive) into a canonical Step."""
    if not isinstance(text, str):
        raise PlanParseError(f'step must be a string, got {type(text).__name__}')
    if len(text) > MAX_STEP_TEXT:
        raise PlanParseError(f'step text longer than {MAX_STEP_TEXT} characters')
    tokens = text.split()
    if not tokens:
        raise PlanParseError('empty step')
    action = tokens[0].upper()
    if action not in ACTIONS:
        raise PlanParseError(f'unknown action {tokens[0]!r}')
    args = tuple(t.upper() for t in tokens[1:])
    _check_args(action, args)
    return Step(action, args)


def parse_plan(text: str, max_steps: int = 16) -> list[Step]:
    """
    Parse a plan written one step per line or ``;``-separated.

    Blank segments (e.g. a trailing ``;``) are skipped.  Raises
    :class:`PlanParseError` naming the 1-based step number on any bad step,
    on an empty plan and on more than ``max_steps`` steps.
    """
    if not isinstance(text, str):
        raise PlanParseError(f'plan must be a string, got {type(text).__name__}')
    segments = [s.strip() for s in re.split(r'[;\n\r]', text)]
    segments = [s for s in segments if s]
    if not segments:
        raise PlanParseError('empty plan')
    if len(segments) > max_steps:
        raise PlanParseError(f'plan has {len(segments)} steps, more than max_steps={max_steps}')
    steps = []
    for i, seg in enumerate(segments):
        try:
            steps.append(parse_step(seg))
        except PlanParseError as exc:
            raise PlanParseError(f'step {i + 1} {seg[:40]!r}: {exc}') from None
    return steps


def format_plan(steps: Iterable[Step]) -> str:
    """Return the written form of a plan, steps joined by ``'; '``."""
    return '; '.join(str(s) for s in steps)
