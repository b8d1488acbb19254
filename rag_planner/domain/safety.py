"""
Safety validator: checks a plan against the robot state and the safety rules.

The rules (DESIGN.md "Safety rules"), parameterised by :class:`SafetyConfig`:

1. every step parses, ids are well formed, 1..``max_steps`` steps;
2. ``PICK`` only right after a ``SCAN`` of the bin the robot is at (the target
   of the last ``NAVIGATE``, else ``state.location``); qty 1..``max_pick_qty``;
3. ``LOAD`` only after a ``SCAN`` of that tote at the current location (since
   the last ``NAVIGATE``) and never while carrying; ``UNLOAD`` only while
   carrying.  Carrying is tracked through the plan: starts at
   ``state.carrying``, ``LOAD`` sets it, ``UNLOAD`` clears it;
4. ``CHARGE CHARGER-n`` only when the robot is at ``CHARGER-n``;
5. no ``NAVIGATE`` to a location starting with a prefix in ``state.blocked``
   (case-insensitive; empty/garbage prefixes are ignored);
6. battery below ``min_battery_pct`` (or not a finite number): the only valid
   plans are ``HALT`` and plans that start by charging, i.e.
   ``NAVIGATE CHARGER-n; CHARGE CHARGER-n; ...`` or, when already there,
   ``CHARGE CHARGER-n; ...`` (this includes the charge plan for
   ``default_charger``).  Navigating to the charger the robot already stands
   at is fine (the canonical charge plan is kept).

Every violation is a readable string ``"rule N at step I (STEP): why"`` with a
0-based step index (plan-level problems name ``plan``).  Rule 7 (never return
a broken plan) is the caller's job: use :func:`validate_plan` and fall back.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
import math
from typing import Any, Mapping, Optional, Sequence, Union

from rag_planner.domain.plan_grammar import (
    check_step, id_kind, is_location, parse_plan, PlanParseError, Step)
from rag_planner.domain.robot_state import (
    battery_is_low, blocking_prefix, normalize_location, RobotState)


SAFE_PLAN: tuple[Step, ...] = (Step('HALT'),)


@dataclass(frozen=True)
class SafetyConfig:
    """Parameters of the safety rules (config/planner.yaml ``safety`` section)."""

    max_steps: int = 16
    max_pick_qty: int = 20
    min_battery_pct: float = 15.0
    default_charger: str = 'CHARGER-1'

    def __post_init__(self) -> None:
        """Check types and ranges; raise ValueError on a bad value."""
        for name, hi in (('max_steps', 256), ('max_pick_qty', 999)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= hi:
                raise ValueError(f'{name} must be an integer in 1..{hi}, got {v!r}')
        v = self.min_battery_pct
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) \
                or not 0.0 <= v <= 100.0:
            raise ValueError(f'min_battery_pct must be a number in 0..100, got {v!r}')
        object.__setattr__(self, 'min_battery_pct', float(v))
        c = self.default_charger
        if not isinstance(c, str) or id_kind(c) != 'charger':
            raise ValueError(f'default_charger must be a CHARGER-n id (n 1..20), got {c!r}')
        object.__setattr__(self, 'default_charger', c.strip().upper())

    @classmethod
    def from_dict(cls, d: Optional[Mapping[str, Any]]) -> 'SafetyConfig':
        """Build a config from a mapping; unknown keys or bad values raise ValueError."""
        if d is None:
            return cls()
        if not isinstance(d, Mapping):
            raise ValueError(f'safety config must be a mapping, got {type(d).__name__}')
        known = set(cls.__dataclass_fields__)
        unknown = sorted(str(k) for k in d if k not in known)
        if unknown:
            raise ValueError(f'unknown safety config keys: {unknown} (known: {sorted(known)})')
        return cls(**dict(d))

    def to_dict(self) -> dict:
        """Return the config as a plain dict."""
        return asdict(self)


@dataclass(frozen=True)
class Validation:
    """Result of :func:`validate_plan`."""

    ok: bool
    violations: tuple[str, ...] = ()
    rules: tuple[int, ...] = field(default=())

    def __bool__(self) -> bool:
        """Return ``ok`` so a Validation can be used in a condition."""
        return self.ok


def _v(rule: int, i: Optional[int], step: Optional[Step], why: str) -> tuple[int, str]:
    where = 'plan' if i is None else f'step {i} ({step})'
    return rule, f'rule {rule} at {where}: {why}'


def _starts_by_charging(steps: Sequence[Step]) -> bool:
    if not steps:
        return False
    first = steps[0]
    if first.action == 'CHARGE':
        return True  # rule 4 checks that the robot is at that charger
    if first.action == 'NAVIGATE' and len(steps) >= 2 and first.args \
            and id_kind(first.args[0]) == 'charger':
        second = steps[1]
        return isinstance(second, Step) and second.action == 'CHARGE' and second.args == first.args
    return False


def validate_plan(steps: Union[Sequence[Step], str], state: RobotState,
                  cfg: Optional[SafetyConfig] = None) -> Validation:
    """
    Check ``steps`` against ``state`` and every safety rule; never raises on bad input.

    ``steps`` may also be the written form of a plan (parsed first).  The
    result lists every violation found, each naming its rule and 0-based step
    index.
    """
    cfg = cfg if cfg is not None else SafetyConfig()
    found: list[tuple[int, str]] = []
    if isinstance(steps, str):
        try:
            steps = parse_plan(steps, max_steps=cfg.max_steps)
        except PlanParseError as exc:
            return _result([_v(1, None, None, str(exc))])
    try:
        steps = list(steps)
    except TypeError:
        return _result([_v(1, None, None, f'plan is not a sequence ({type(steps).__name__})')])
    if not steps:
        return _result([_v(1, None, None, 'empty plan')])
    if len(steps) > cfg.max_steps:
        found.append(_v(1, None, None,
                        f'{len(steps)} steps, more than max_steps={cfg.max_steps}'))
    good = []
    for i, s in enumerate(steps):
        why = check_step(s)
        if why is not None:
            found.append(_v(1, i, s, why))
        good.append(why is None)
    if not isinstance(state, RobotState):
        found.append(_v(1, None, None, f'state is not a RobotState ({type(state).__name__})'))
        return _result(found)

    loc = normalize_location(state.location)
    at = loc if is_location(loc) else ''
    carrying: Optional[bool] = state.carrying if isinstance(state.carrying, bool) else None
    scanned_here: set = set()
    prev: Optional[Step] = None
    for i, s in enumerate(steps):
        if not good[i]:
            prev = None
            continue
        a, args = s.action, s.args
        if a == 'NAVIGATE':
            p = blocking_prefix(args[0], state)
            if p is not None:
                found.append(_v(5, i, s, f'{args[0]} starts with blocked prefix {p!r}'))
            at = args[0]
            scanned_here = set()
        elif a == 'SCAN':
            scanned_here.add(args[0])
        elif a == 'PICK':
            if not at:
                found.append(_v(2, i, s, 'robot location unknown (no NAVIGATE and no '
                                         'state.location)'))
            elif id_kind(at) != 'bin':
                found.append(_v(2, i, s, f'robot is at {at}, not at a bin'))
            elif prev is None or prev.action != 'SCAN' or prev.args != (at,):
                found.append(_v(2, i, s, f'not right after SCAN {at}'))
            qty = int(args[1])
            if not 1 <= qty <= cfg.max_pick_qty:
                found.append(_v(2, i, s, f'quantity {qty} outside 1..{cfg.max_pick_qty}'))
        elif a == 'LOAD':
            if args[0] not in scanned_here:
                found.append(_v(3, i, s, f'{args[0]} not scanned at the current location'))
            if carrying is None:
                found.append(_v(3, i, s, 'carrying state unknown'))
            elif carrying:
                found.append(_v(3, i, s, 'already carrying a tote'))
            carrying = True
        elif a == 'UNLOAD':
            if carrying is None:
                found.append(_v(3, i, s, 'carrying state unknown'))
            elif not carrying:
                found.append(_v(3, i, s, 'not carrying a tote'))
            carrying = False
        elif a == 'CHARGE':
            if at != args[0]:
                found.append(_v(4, i, s, f'robot is at {at or "an unknown location"}, '
                                         f'not at {args[0]}'))
        prev = s

    if battery_is_low(state, cfg.min_battery_pct):
        only_halt = len(steps) == 1 and steps[0] == Step('HALT')
        if not only_halt and not (good[0] and _starts_by_charging(steps)):
            b = state.battery_pct
            what = (f'battery {b:g}% below {cfg.min_battery_pct:g}%'
                    if isinstance(b, (int, float)) and not isinstance(b, bool)
                    and math.isfinite(b)
                    else f'battery {b!r} is not a usable percentage')
            found.append(_v(6, None, None, f'{what}: '
                            'only HALT or a plan that starts by charging '
                            f'(e.g. NAVIGATE {cfg.default_charger}; '
                            f'CHARGE {cfg.default_charger})'))
    return _result(found)


def _result(found: list[tuple[int, str]]) -> Validation:
    return Validation(ok=not found, violations=tuple(m for _, m in found),
                      rules=tuple(sorted({r for r, _ in found})))


def charge_plan(charger: str) -> tuple[Step, ...]:
    """Return the canonical charge plan ``NAVIGATE c; CHARGE c``."""
    return (Step('NAVIGATE', (charger,)), Step('CHARGE', (charger,)))
