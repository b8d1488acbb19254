"""
What every planner is: ``plan(context) -> PlanResult``.

A planner runs on a worker thread of the serving engine. It reads the task,
the (sanitised) robot state, the safety limits and the parameters from the
:class:`PlanContext`, writes its stage times into ``context.times``, and tells
the engine when it enters a stage (``context.enter(stage)``) so the watchdog
applies that stage's budget. It returns a :class:`PlanResult` (which the
engine validates) or raises a typed failure of :mod:`rag_planner.errors`.
"""

from dataclasses import dataclass, field
from typing import Callable

from rag_planner.domain.answers import Fallback, Source
from rag_planner.domain.robot_state import RobotState
from rag_planner.domain.safety import SafetyConfig
from rag_planner.params import PlannerConfig


@dataclass
class StageTimes:
    """Milliseconds spent per stage (0 for a stage that did not run)."""

    embed_ms: float = 0.0
    retrieve_ms: float = 0.0
    generate_ms: float = 0.0
    validate_ms: float = 0.0
    total_ms: float = 0.0


def _no_stage_hook(stage: str) -> None:
    return None


@dataclass
class PlanContext:
    """Everything one planning call needs; built by the engine per request."""

    task: str
    state: RobotState
    safety: SafetyConfig
    config: PlannerConfig
    times: StageTimes = field(default_factory=StageTimes)
    enter: Callable[[str], None] = _no_stage_hook


@dataclass
class PlanResult:
    """What a planner produced, before validation."""

    steps: tuple
    source: Source
    retrieved_ids: tuple = ()
    confidence: float = 1.0
    cache_hit: bool = False
    family: str = ''
    # A stage answered in a degraded way (exact k-NN after an HNSW timeout, the rule
    # planner standing in for a pipeline that could not load): the code and why.
    degraded: Fallback = Fallback.NONE
    note: str = ''
    # The rule planner's plan of the task, when a learned planner had one to compare with:
    # a valid learned plan that differs from it is refused (see the engine).
    rule_steps: tuple = ()


class Planner:
    """A primary path of the server: the rule planner, the retrieval baseline, the pipeline."""

    name: Source = Source.RULE_BASED

    def plan(self, context: PlanContext) -> PlanResult:
        """Return a plan for ``context.task`` or raise a typed failure."""
        raise NotImplementedError

    def close(self) -> None:
        """Release threads and models (the server is shutting down)."""


__all__ = ['PlanContext', 'PlanResult', 'Planner', 'StageTimes']
