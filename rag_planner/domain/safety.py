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
   ``default_charger``);
7. grounding: with a :class:`Grounding` (what the task text, the robot state and
   the configuration give), every id and number of the plan is one of those;
8. no no-op moves: a ``PLACE`` at the location where the units were picked, an
   ``UNLOAD`` where the tote was loaded.

Every violation is a :class:`Violation` (rule, step, subject, and whether the plan
or the robot's state is at fault) with a readable text ``"rule N at step I (STEP):
why"`` (0-based step index; plan-level problems name ``plan``).  Never returning a
broken plan is the caller's job: use :func:`validate_plan` and fall back.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
import math
from typing import Any, Mapping, Optional, Sequence, Union

from rag_planner.domain.plan_grammar import (
    check_step, id_kind, is_location, parse_plan, PlanParseError, Step)
from rag_planner.domain.robot_state import (
    battery_is_low, blocking_prefix, normalize_location, RobotState)


SAFE_PLAN: tuple[Step, ...] = (Step('HALT'),)
# Limits of the safety parameters: the one place they are defined (params.py reads them).
LIMITS: dict = {'max_steps': (1, 256), 'max_pick_qty': (1, 999), 'min_battery_pct': (0.0, 100.0),
                'max_subtasks': (1, 8)}
LOW_BATTERY_POLICIES = ('charge_first', 'charge_only')
# The wait of the spill plan: the one number a plan may hold that no task gives.
SPILL_WAIT_S = 60
PLAN = 'plan'      # a violation the plan is at fault for (a planner's mistake)
STATE = 'state'    # a violation the robot's state or the limits cause (the task is unsafe)


@dataclass(frozen=True)
class SafetyConfig:
    """Parameters of the safety rules (config/planner.yaml ``safety`` section)."""

    max_steps: int = 16
    max_pick_qty: int = 20
    min_battery_pct: float = 15.0
    default_charger: str = 'CHARGER-1'
    low_battery_policy: str = 'charge_first'
    max_subtasks: int = 3              # parts of a composite task ("A, then B")

    def __post_init__(self) -> None:
        """Check types and ranges; raise ValueError on a bad value."""
        for name in ('max_steps', 'max_pick_qty', 'max_subtasks'):
            lo, hi = LIMITS[name]
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
                raise ValueError(f'{name} must be an integer in {lo}..{hi}, got {v!r}')
        lo, hi = LIMITS['min_battery_pct']
        v = self.min_battery_pct
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) \
                or not lo <= v <= hi:
            raise ValueError(f'min_battery_pct must be a number in {lo:g}..{hi:g}, got {v!r}')
        object.__setattr__(self, 'min_battery_pct', float(v))
        c = self.default_charger
        if not isinstance(c, str) or id_kind(c) != 'charger':
            raise ValueError(f'default_charger must be a CHARGER-n id (n 1..20), got {c!r}')
        object.__setattr__(self, 'default_charger', c.strip().upper())
        if self.low_battery_policy not in LOW_BATTERY_POLICIES:
            raise ValueError(f'low_battery_policy must be one of {LOW_BATTERY_POLICIES}, '
                             f'got {self.low_battery_policy!r}')

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
class Grounding:
    """
    The ids and numbers a plan may name (rule 7): what the task, the state and the config give.

    Build it with :func:`rag_planner.domain.entities.grounding_of`.
    """

    ids: frozenset = frozenset()
    numbers: frozenset = frozenset()
    quantities: Optional[frozenset] = None

    def allows(self, value: str, action: str = '') -> bool:
        """
        Return True when ``value`` (an id or a number) of an ``action`` step is grounded.

        A ``PICK`` quantity must be one of the task's own numbers (``quantities``):
        the spill plan's configured wait grounds a ``WAIT``, not how many units to take.
        """
        if not value.isdigit():
            return value in self.ids
        if action == 'PICK' and self.quantities is not None:
            return value in self.quantities
        return value in self.numbers


@dataclass(frozen=True)
class Violation:
    """One broken rule: where, about what, and whether the plan or the state is at fault."""

    rule: int
    step: Optional[int]
    subject: str
    kind: str
    text: str


@dataclass(frozen=True)
class Validation:
    """Result of :func:`validate_plan`."""

    ok: bool
    details: tuple = ()

    @property
    def violations(self) -> tuple:
        """Return the violations as readable texts."""
        return tuple(v.text for v in self.details)

    @property
    def rules(self) -> tuple:
        """Return the numbers of the broken rules, sorted."""
        return tuple(sorted({v.rule for v in self.details}))

    @property
    def state_only(self) -> bool:
        """Return True when every violation comes from the state or the limits, not the plan."""
        return bool(self.details) and all(v.kind == STATE for v in self.details)

    def __bool__(self) -> bool:
        """Return ``ok`` so a Validation can be used in a condition."""
        return self.ok


def _v(rule: int, i: Optional[int], step: Optional[Step], why: str, subject: str = '',
       kind: str = PLAN) -> Violation:
    where = 'plan' if i is None else f'step {i} ({step})'
    return Violation(rule, i, subject, kind, f'rule {rule} at {where}: {why}')


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


def plan_values(step: Step) -> tuple:
    """Return the ids and numbers a step names (REPORT codes are vocabulary, not values)."""
    return step.args[1:] if step.action == 'REPORT' else step.args


def validate_plan(steps: Union[Sequence[Step], str], state: RobotState,
                  cfg: Optional[SafetyConfig] = None,
                  grounding: Optional[Grounding] = None) -> Validation:
    """
    Check ``steps`` against ``state`` and every safety rule; never raises on bad input.

    ``steps`` may also be the written form of a plan (parsed first).  Rule 7 is
    checked when a ``grounding`` is given.  The result lists every violation found,
    each naming its rule and 0-based step index.
    """
    cfg = cfg if cfg is not None else SafetyConfig()
    found: list = []
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
    found.extend(_walk(steps, good, state, cfg, grounding))
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
                            f'CHARGE {cfg.default_charger})', 'battery', STATE))
    return _result(found)


def _walk(steps: list, good: list, state: RobotState, cfg: SafetyConfig,
          grounding: Optional[Grounding]) -> list:
    """Rules 2-5, 7 and 8: follow the robot through the plan."""
    found = []
    loc = normalize_location(state.location)
    at = loc if is_location(loc) else ''
    carrying: Optional[bool] = state.carrying if isinstance(state.carrying, bool) else None
    scanned_here: set = set()
    picked_at = loaded_at = ''
    prev: Optional[Step] = None
    for i, s in enumerate(steps):
        if not good[i]:
            prev = None
            continue
        a, args = s.action, s.args
        if grounding is not None:
            for value in plan_values(s):
                if not grounding.allows(value, a):
                    found.append(_v(7, i, s, f'{value} is not in the task, the robot state or '
                                             'the configuration', value))
        if a == 'NAVIGATE':
            p = blocking_prefix(args[0], state)
            if p is not None:
                found.append(_v(5, i, s, f'{args[0]} starts with blocked prefix {p!r}',
                                args[0], STATE))
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
            if qty > cfg.max_pick_qty:
                found.append(_v(2, i, s, f'quantity {qty} above max_pick_qty '
                                         f'{cfg.max_pick_qty}', args[0], STATE))
            elif qty < 1:
                found.append(_v(2, i, s, f'quantity {qty} below 1', args[0]))
            picked_at = at
        elif a == 'PLACE':
            if picked_at and args[0] == picked_at:
                found.append(_v(8, i, s, f'places the units back at {args[0]}, where they '
                                         'were picked', args[0]))
            picked_at = ''
        elif a == 'LOAD':
            if args[0] not in scanned_here:
                found.append(_v(3, i, s, f'{args[0]} not scanned at the current location'))
            if carrying is None:
                found.append(_v(3, i, s, 'carrying state unknown', args[0], STATE))
            elif carrying:
                found.append(_v(3, i, s, 'already carrying a tote', args[0],
                                STATE if i == _first_load(steps) else PLAN))
            carrying = True
            loaded_at = at
        elif a == 'UNLOAD':
            if carrying is None:
                found.append(_v(3, i, s, 'carrying state unknown', args[0], STATE))
            elif not carrying:
                found.append(_v(3, i, s, 'not carrying a tote'))
            if loaded_at and args[0] == loaded_at:
                found.append(_v(8, i, s, f'unloads the tote at {args[0]}, where it was '
                                         'loaded', args[0]))
            carrying = False
            loaded_at = ''
        elif a == 'CHARGE':
            if at != args[0]:
                found.append(_v(4, i, s, f'robot is at {at or "an unknown location"}, '
                                         f'not at {args[0]}'))
        prev = s
    return found


def _first_load(steps: list) -> int:
    return next((i for i, s in enumerate(steps) if s.action == 'LOAD'), -1)


def _result(found: list) -> Validation:
    return Validation(ok=not found, details=tuple(found))


def charge_plan(charger: str) -> tuple[Step, ...]:
    """Return the canonical charge plan ``NAVIGATE c; CHARGE c``."""
    return (Step('NAVIGATE', (charger,)), Step('CHARGE', (charger,)))
