"""
Robot state as seen by the planner, plus input checks for untrusted states.

``RobotState`` mirrors ``rag_planner_interfaces/msg/RobotState``.  States
arrive from the network, so :func:`check_state` lists everything wrong with
one (the server rejects or sanitises), and :func:`sanitize_state` returns a
conservative usable copy.  The validator never trusts a state either: it
treats a non-finite battery as empty and ignores blocked entries that are not
usable prefixes (an empty prefix would otherwise block every location).
"""

from __future__ import annotations

from dataclasses import dataclass
import math
import re
from typing import Any, Mapping, Optional

from rag_planner.domain.plan_grammar import is_location

MAX_ROBOT_ID_LEN = 64
MAX_LOCATION_LEN = 16
MAX_BLOCKED = 64
MAX_PREFIX_LEN = 16
_ROBOT_ID_RE = re.compile(r'^[A-Za-z0-9_./-]*$')
PREFIX_RE = re.compile(r'^[A-Z0-9][A-Z0-9-]*$')


@dataclass(frozen=True)
class RobotState:
    """What the robot reports about itself with a request."""

    robot_id: str = ''
    location: str = ''
    battery_pct: float = 100.0
    carrying: bool = False
    blocked: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """Coerce ``blocked`` to a tuple (lists from YAML/ROS stay hashable)."""
        if not isinstance(self.blocked, tuple):
            try:
                object.__setattr__(self, 'blocked', tuple(self.blocked))
            except TypeError:
                object.__setattr__(self, 'blocked', ())

    @classmethod
    def from_dict(cls, d: Optional[Mapping[str, Any]]) -> 'RobotState':
        """Build a state from a mapping (YAML/JSON); unknown keys raise ValueError."""
        if d is None:
            return cls()
        if not isinstance(d, Mapping):
            raise ValueError(f'robot state must be a mapping, got {type(d).__name__}')
        known = {'robot_id', 'location', 'battery_pct', 'carrying', 'blocked'}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f'unknown robot state keys: {sorted(map(str, unknown))}')
        kw = dict(d)
        if 'battery_pct' in kw and not isinstance(kw['battery_pct'], bool):
            try:
                kw['battery_pct'] = float(kw['battery_pct'])
            except (TypeError, ValueError):
                raise ValueError(f'battery_pct {kw["battery_pct"]!r} is not a number') from None
        if 'blocked' in kw:
            b = kw['blocked']
            if b is None:
                kw['blocked'] = ()
            elif isinstance(b, str):
                kw['blocked'] = (b,)
            else:
                kw['blocked'] = tuple(b)
        for key in ('robot_id', 'location'):
            if key in kw and kw[key] is None:
                kw[key] = ''
        return cls(**kw)

    def to_dict(self) -> dict:
        """Return a plain dict (YAML/JSON friendly)."""
        return {'robot_id': self.robot_id, 'location': self.location,
                'battery_pct': self.battery_pct, 'carrying': self.carrying,
                'blocked': list(self.blocked)}


def normalize_location(location: object) -> str:
    """Return the upper-case stripped location, or '' when it is not a string."""
    if not isinstance(location, str):
        return ''
    return location.strip().upper()


def battery_is_low(state: RobotState, min_battery_pct: float) -> bool:
    """Return True when the battery is below the minimum or not a usable number."""
    b = state.battery_pct
    if isinstance(b, bool) or not isinstance(b, (int, float)):
        return True
    if not math.isfinite(b):
        return True
    return b < min_battery_pct


def normalize_prefix(prefix: object) -> Optional[str]:
    """
    Return the canonical blocked prefix, or None when it is empty or garbage.

    A usable prefix is a non-empty run of ``A-Z``, ``0-9`` and ``-`` starting
    with a letter or digit, at most ``MAX_PREFIX_LEN`` characters (case and
    surrounding whitespace are ignored).
    """
    if not isinstance(prefix, str):
        return None
    p = prefix.strip().upper()
    if not p or len(p) > MAX_PREFIX_LEN or not PREFIX_RE.match(p):
        return None
    return p


def blocked_prefixes(state: RobotState) -> tuple[str, ...]:
    """Return the usable blocked prefixes of ``state`` (garbage entries dropped)."""
    out = []
    blocked = state.blocked if isinstance(state.blocked, (tuple, list)) else ()
    for p in blocked[:MAX_BLOCKED * 4]:
        n = normalize_prefix(p)
        if n is not None and n not in out:
            out.append(n)
    return tuple(out)


def blocking_prefix(location: str, state: RobotState) -> Optional[str]:
    """
    Return the blocked prefix that ``location`` starts with, or None.

    Plain prefix semantics as in DESIGN.md: ``C04`` blocks ``C04-01`` and
    ``PACK-2`` also blocks ``PACK-20`` (conservative).
    """
    loc = normalize_location(location)
    for p in blocked_prefixes(state):
        if loc.startswith(p):
            return p
    return None


def check_state(state: object) -> list[str]:
    """
    Return the problems of an untrusted state (empty list when it is fine).

    Checks: types; robot_id length and characters; battery finite and within
    0..100; location empty (unknown) or a well-formed bin/station id; blocked
    a list of usable prefixes (no empty, whitespace-only, over-long or
    non ``[A-Z0-9-]`` entries), at most ``MAX_BLOCKED`` entries.
    """
    if not isinstance(state, RobotState):
        return [f'state is not a RobotState but {type(state).__name__}']
    problems = []
    rid = state.robot_id
    if not isinstance(rid, str):
        problems.append(f'robot_id is not a string ({type(rid).__name__})')
    elif len(rid) > MAX_ROBOT_ID_LEN:
        problems.append(f'robot_id longer than {MAX_ROBOT_ID_LEN} characters ({len(rid)})')
    elif not _ROBOT_ID_RE.match(rid):
        problems.append(f'robot_id {rid[:32]!r} has characters outside [A-Za-z0-9_./-]')
    b = state.battery_pct
    if isinstance(b, bool) or not isinstance(b, (int, float)):
        problems.append(f'battery_pct is not a number ({type(b).__name__})')
    elif not math.isfinite(b):
        problems.append(f'battery_pct is not finite ({b!r})')
    elif not 0.0 <= b <= 100.0:
        problems.append(f'battery_pct {b!r} outside 0..100')
    loc = state.location
    if not isinstance(loc, str):
        problems.append(f'location is not a string ({type(loc).__name__})')
    elif len(loc) > MAX_LOCATION_LEN:
        problems.append(f'location longer than {MAX_LOCATION_LEN} characters ({len(loc)})')
    elif loc.strip() and not is_location(loc):
        problems.append(f'location {loc!r} is not a well-formed bin or station id')
    if not isinstance(state.carrying, bool):
        problems.append(f'carrying is not a bool ({type(state.carrying).__name__})')
    blocked = state.blocked
    if not isinstance(blocked, tuple):
        problems.append(f'blocked is not a list ({type(blocked).__name__})')
    else:
        if len(blocked) > MAX_BLOCKED:
            problems.append(f'blocked has {len(blocked)} entries, more than {MAX_BLOCKED}')
        for i, p in enumerate(blocked[:MAX_BLOCKED]):
            if normalize_prefix(p) is None:
                shown = p[:24] if isinstance(p, str) else type(p).__name__
                problems.append(f'blocked[{i}] {shown!r} is not a usable location prefix')
    return problems


def sanitize_state(state: RobotState) -> RobotState:
    """
    Return a conservative, well-typed copy of an untrusted state.

    Non-finite or non-numeric battery becomes 0 (forces the low-battery
    rule), battery is clamped to 0..100, a malformed location becomes ''
    (unknown), garbage blocked entries are dropped (usable ones normalised),
    an unusable robot_id becomes ''.  A non-bool ``carrying`` becomes
    ``bool(x)`` for integers, else True (the conservative choice: no LOAD).
    """
    b = state.battery_pct
    if isinstance(b, bool) or not isinstance(b, (int, float)) or not math.isfinite(b):
        b = 0.0
    b = float(min(100.0, max(0.0, b)))
    loc = normalize_location(state.location)
    if len(loc) > MAX_LOCATION_LEN or not is_location(loc):
        loc = ''
    rid = state.robot_id if isinstance(state.robot_id, str) else ''
    if len(rid) > MAX_ROBOT_ID_LEN or not _ROBOT_ID_RE.match(rid):
        rid = ''
    carrying = state.carrying
    if not isinstance(carrying, bool):
        carrying = bool(carrying) if isinstance(carrying, int) else True
    return RobotState(robot_id=rid, location=loc, battery_pct=b, carrying=carrying,
                      blocked=blocked_prefixes(state)[:MAX_BLOCKED])


__all__ = ['RobotState', 'check_state', 'sanitize_state', 'blocked_prefixes',
           'blocking_prefix', 'normalize_prefix', 'normalize_location', 'battery_is_low']
