"""
Robot state evolution of the fleet simulator.

A robot's state follows the plans it is given: its location becomes the last
``NAVIGATE`` target, ``LOAD``/``UNLOAD`` set ``carrying``, every step drains
the battery (driving more than the rest), ``CHARGE`` fills it, and the
battery also drains while idle.  Blocked zones (aisles such as ``C04`` or
stations such as ``PACK-2``) appear as a Poisson process and clear after an
exponentially distributed time; every robot sees the same blocked list.
"""

from dataclasses import dataclass, field
import math
import random
from typing import Iterable, Optional, Sequence

from rag_planner.domain.plan_grammar import id_kind, Step
from rag_planner.domain.robot_state import RobotState


@dataclass(frozen=True)
class WorldConfig:
    """Rates of the simulated warehouse (sim seconds and percent)."""

    nav_drain_pct: float = 2.5        # battery used by one NAVIGATE
    step_drain_pct: float = 0.1       # battery used by any other step
    idle_drain_pct_s: float = 0.01    # battery used per idle sim second
    nav_time_s: float = 20.0          # sim seconds one NAVIGATE takes
    step_time_s: float = 3.0          # sim seconds any other step takes
    charge_time_s: float = 120.0      # sim seconds a CHARGE takes
    start_battery: tuple = (35.0, 100.0)  # uniform range of initial battery
    block_rate_hz: float = 0.05       # fleet-wide rate of new blocked zones
    block_mean_s: float = 60.0        # mean lifetime of a blocked zone
    max_blocked: int = 4              # at most this many zones blocked at once

    def __post_init__(self) -> None:
        """Reject rates and times that make no sense."""
        for name in ('nav_drain_pct', 'step_drain_pct', 'idle_drain_pct_s', 'nav_time_s',
                     'step_time_s', 'charge_time_s', 'block_rate_hz', 'block_mean_s'):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise ValueError(f'{name} must be a finite number >= 0, got {value!r}')
        lo, hi = self.start_battery
        if not 0 <= lo <= hi <= 100:
            raise ValueError('start_battery must be 0 <= lo <= hi <= 100, got '
                             f'{self.start_battery}')
        if self.max_blocked < 0:
            raise ValueError('max_blocked must be >= 0')


@dataclass
class RobotSim:
    """One simulated robot: its state plus bookkeeping."""

    robot_id: str
    location: str = 'STAGING-1'
    battery_pct: float = 100.0
    carrying: bool = False
    busy_until: float = 0.0           # sim time its current plan ends
    plans_done: int = 0
    last_update: float = 0.0

    def state(self, blocked: Sequence[str] = ()) -> RobotState:
        """Return the RobotState the robot reports with a request."""
        return RobotState(robot_id=self.robot_id, location=self.location,
                          battery_pct=round(float(self.battery_pct), 2),
                          carrying=self.carrying, blocked=tuple(blocked))


def make_robots(n: int, rng: random.Random, config: WorldConfig = WorldConfig(),
                prefix: str = 'robot_') -> list:
    """Return ``n`` robots spread over the staging stations with random batteries."""
    if n < 1:
        raise ValueError(f'need at least one robot, got {n}')
    lo, hi = config.start_battery
    return [RobotSim(robot_id=f'{prefix}{i}', location=f'STAGING-{i % 20 + 1}',
                     battery_pct=rng.uniform(lo, hi)) for i in range(n)]


def plan_duration_s(steps: Iterable[Step], config: WorldConfig = WorldConfig()) -> float:
    """Return the sim seconds a plan takes to execute."""
    total = 0.0
    for step in steps:
        if step.action == 'NAVIGATE':
            total += config.nav_time_s
        elif step.action == 'CHARGE':
            total += config.charge_time_s
        elif step.action == 'WAIT' and step.args:
            total += float(step.args[0])
        else:
            total += config.step_time_s
    return total


def apply_plan(robot: RobotSim, steps: Sequence[Step], now: float,
               config: WorldConfig = WorldConfig()) -> RobotSim:
    """
    Execute ``steps`` on ``robot`` (in place) as of sim time ``now``; return it.

    Idle drain is applied up to ``now`` first; the effects of the whole plan
    are then applied at once and ``busy_until`` says when it would end.
    """
    idle(robot, now, config)
    battery = robot.battery_pct
    for step in steps:
        if step.action == 'NAVIGATE' and step.args:
            robot.location = step.args[0]
            battery -= config.nav_drain_pct
        elif step.action == 'CHARGE':
            battery = 100.0
        elif step.action == 'LOAD':
            robot.carrying = True
            battery -= config.step_drain_pct
        elif step.action == 'UNLOAD':
            robot.carrying = False
            battery -= config.step_drain_pct
        else:
            battery -= config.step_drain_pct
    robot.battery_pct = min(100.0, max(0.0, battery))
    robot.busy_until = max(robot.busy_until, now) + plan_duration_s(steps, config)
    robot.plans_done += 1
    return robot


def idle(robot: RobotSim, now: float, config: WorldConfig = WorldConfig()) -> None:
    """Drain the battery for the idle time since the robot's last update."""
    dt = max(0.0, now - robot.last_update)
    robot.battery_pct = max(0.0, robot.battery_pct - dt * config.idle_drain_pct_s)
    robot.last_update = max(robot.last_update, now)


def zone_of(location: str) -> Optional[str]:
    """Return the blockable zone of a location: the aisle of a bin, or the station."""
    kind = id_kind(location)
    if kind is None:
        return None
    if kind == 'bin':
        return location.split('-', 1)[0]
    if kind in ('tote', 'sku'):
        return None
    return location


@dataclass
class BlockedZones:
    """Zones that block and clear at random, seen by the whole fleet."""

    config: WorldConfig
    rng: random.Random
    active: dict = field(default_factory=dict)   # zone -> sim time it clears
    next_at: float = 0.0
    history: list = field(default_factory=list)  # (t, 'block'|'clear', zone)

    def __post_init__(self) -> None:
        """Draw the time of the first closure."""
        self.next_at = self._gap(0.0)

    def _gap(self, now: float) -> float:
        rate = self.config.block_rate_hz
        return now + self.rng.expovariate(rate) if rate > 0 else math.inf

    def advance(self, now: float, candidates: Sequence[str] = ()) -> None:
        """Clear expired zones and open new ones up to sim time ``now`` (finite)."""
        if not math.isfinite(now):
            raise ValueError(f'sim time must be finite, got {now!r}')
        for zone, until in sorted(self.active.items()):
            if until <= now:
                del self.active[zone]
                self.history.append((until, 'clear', zone))
        while self.next_at <= now:
            at = self.next_at
            self.next_at = self._gap(at)
            zones = [z for z in (zone_of(c) for c in candidates) if z]
            if not zones or len(self.active) >= self.config.max_blocked:
                continue
            zone = self.rng.choice(zones)
            if self.rng.random() < 0.5 and id_kind(zone) is None and len(zone) == 3:
                zone = zone[:2]   # a section of ten aisles, e.g. C1 blocks C10..C19
            if zone in self.active or zone.startswith('CHARGER'):
                continue   # chargers stay open: low-battery robots must reach one
            life = self.rng.expovariate(1.0 / self.config.block_mean_s) \
                if self.config.block_mean_s > 0 else 0.0
            self.active[zone] = at + life
            self.history.append((at, 'block', zone))

    def blocked(self) -> tuple:
        """Return the zones blocked now, sorted."""
        return tuple(sorted(self.active))
