"""A request as the serving engine sees it, and the answer it gives."""

from dataclasses import dataclass, field
import time

from rag_planner.domain.answers import ErrorCode, Fallback, Source
from rag_planner.domain.robot_state import RobotState
from rag_planner.domain.safety import SAFE_PLAN
from rag_planner.planners.base import StageTimes


@dataclass(frozen=True)
class PlanRequestData:
    """One request: task, robot state, its own deadline (0 = the configured one)."""

    task: str
    state: RobotState
    deadline_ms: float = 0.0
    request_id: str = ''
    received: float = field(default_factory=time.monotonic)


@dataclass
class PlanOutcome:
    """
    The answer to one request.

    ``error`` is GetPlan's code (``success`` is ``error == NONE``); ``fallback``
    says why the primary path's plan is not the answer, or that a stage
    answered in a degraded way; ``fallback_reason`` and ``message`` say it in
    words, for people.
    """

    request_id: str
    robot_id: str
    steps: tuple
    source: Source
    error: ErrorCode = ErrorCode.NONE
    fallback: Fallback = Fallback.NONE
    plan_id: str = ''
    retrieved_ids: tuple = ()
    confidence: float = 0.0
    slo_met: bool = True
    deadline_ms: float = 0.0
    times: StageTimes = field(default_factory=StageTimes)
    message: str = ''
    fallback_reason: str = ''
    cache_hit: bool = False
    family: str = ''
    chain: bool = False               # the fallback chain answered (not the primary path)
    missing: str = ''                 # MISSING_ARGUMENT: the missing slot's kind
    generation: str = ''              # the generation (library, index, generator) that served

    @property
    def success(self) -> bool:
        """Return True when the request was answered without an error code."""
        return self.error == ErrorCode.NONE


def inactive_outcome(request: PlanRequestData, state_label: str) -> PlanOutcome:
    """Return the answer of a planner that is not active: ``INACTIVE`` and ``HALT``."""
    robot_id = getattr(request.state, 'robot_id', '')
    total_ms = (time.monotonic() - request.received) * 1000.0
    return PlanOutcome(request_id=str(request.request_id)[:128],
                       robot_id=robot_id[:64] if isinstance(robot_id, str) else '',
                       steps=tuple(SAFE_PLAN), source=Source.SAFE_DEFAULT,
                       error=ErrorCode.INACTIVE, deadline_ms=float(request.deadline_ms),
                       times=StageTimes(total_ms=total_ms),
                       message=f'inactive: the planner is {state_label}, not active '
                               '(lifecycle); nothing was planned')


__all__ = ['inactive_outcome', 'PlanOutcome', 'PlanRequestData']
