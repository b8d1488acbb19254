"""
A fleet scenario: robots, their Poisson task arrivals and the warehouse around them.

:class:`FleetScenario` is driven by sim time.  ``due(sim_t)`` returns the
requests whose arrival time has come, each with the robot's current state,
the task and its expected plan; ``answered(...)`` applies the plan a robot
got to its state.  No clocks and no ROS here: the fleet simulator node and
the benchmark drive it (and the unit tests drive it by hand).
"""

from dataclasses import dataclass
import random
from typing import Optional, Sequence

from rag_planner.domain.answers import ErrorCode
from rag_planner.domain.plan_grammar import format_plan
from rag_planner.domain.robot_state import RobotState
from rag_planner.domain.safety import SafetyConfig
from rag_planner.sim.arrivals import fleet_arrivals, TaskFeed
from rag_planner.sim.expected import expected_answer
from rag_planner.sim.world import (
    apply_plan, BlockedZones, idle, make_robots, RobotSim, WorldConfig)
from rag_planner.training.wording import Example


@dataclass(frozen=True)
class ScenarioConfig:
    """What to simulate; times are sim seconds."""

    robots: int = 4
    rate_hz: float = 1.0              # task arrivals per robot per sim second
    duration_s: float = 60.0
    seed: int = 1
    process: str = 'poisson'          # poisson | periodic
    templates: str = 'all'            # all | train | heldout
    composite_parts: int = 0          # > 1: composite tasks of that many parts
    evolve: bool = True               # False: every request from a fresh, healthy robot
    world: WorldConfig = WorldConfig()


@dataclass(frozen=True)
class DueRequest:
    """One request to send now."""

    index: int                        # arrival number, unique in the run
    sim_t: float
    robot: RobotSim
    state: RobotState
    example: Example
    expected: tuple                   # the plan the robot must get
    expected_code: ErrorCode = ErrorCode.NONE

    @property
    def expected_text(self) -> str:
        """Return the expected plan as text."""
        return format_plan(self.expected)


class FleetScenario:
    """Arrivals, robots and blocked zones of one run."""

    def __init__(self, config: ScenarioConfig, safety: Optional[SafetyConfig] = None):
        self.config = config
        self.safety = safety if safety is not None else SafetyConfig()
        rng = random.Random(config.seed)
        self.robots = make_robots(config.robots, rng, config.world)
        if not config.evolve:
            for robot in self.robots:
                robot.battery_pct = 100.0
        self.arrivals = fleet_arrivals(config.robots, config.rate_hz, config.duration_s,
                                       config.seed, config.process)
        self.feed = TaskFeed(config.seed, config.templates, parts=config.composite_parts,
                             max_steps=self.safety.max_steps)
        self.zones = BlockedZones(config.world, random.Random(config.seed + 17))
        self._next = 0
        self._recent: list = []

    @property
    def total(self) -> int:
        """Return the number of requests the run will send."""
        return len(self.arrivals)

    @property
    def remaining(self) -> int:
        """Return the number of requests not yet handed out."""
        return len(self.arrivals) - self._next

    def next_time(self) -> Optional[float]:
        """Sim time of the next arrival, or None when all are out."""
        return self.arrivals[self._next].t if self._next < len(self.arrivals) else None

    def due(self, sim_t: float) -> list:
        """Return the requests due by ``sim_t`` (each returned once)."""
        out = []
        if self.config.evolve:
            self.zones.advance(min(sim_t, self.config.duration_s), self._recent)
        blocked = self.zones.blocked() if self.config.evolve else ()
        while self._next < len(self.arrivals) and self.arrivals[self._next].t <= sim_t:
            arrival = self.arrivals[self._next]
            robot = self.robots[arrival.robot_index]
            example = self.feed.next()
            if self.config.evolve:
                idle(robot, arrival.t, self.config.world)
                state = robot.state(blocked)
                self._remember(example)
            else:
                state = RobotState(robot_id=robot.robot_id, location=robot.location)
            code, expected = expected_answer(example.task, example.plan, state, self.safety)
            out.append(DueRequest(self._next, arrival.t, robot, state, example, expected,
                                  code))
            self._next += 1
        return out

    def _remember(self, example: Example) -> None:
        for step in example.plan:
            if step.action == 'NAVIGATE' and step.args:
                self._recent.append(step.args[0])
        del self._recent[:-64]

    def answered(self, robot: RobotSim, steps: Sequence, sim_t: float) -> None:
        """Apply the plan the robot got (no-op when states do not evolve)."""
        if self.config.evolve:
            apply_plan(robot, steps, sim_t, self.config.world)

    def robot_summary(self) -> list:
        """Return each robot's state at the end, for the run report."""
        return [{'robot_id': r.robot_id, 'location': r.location,
                 'battery_pct': round(r.battery_pct, 2), 'plans_done': r.plans_done}
                for r in self.robots]
