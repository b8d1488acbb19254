"""A request in flight: its deadlines, the stage it is in, answered exactly once."""

import threading

from rag_planner.domain.robot_state import RobotState
from rag_planner.planners.base import StageTimes
from rag_planner.serving.request import PlanRequestData

QUEUED = 'queued'


class Pending:
    """
    One request between ``submit`` and its answer.

    Worker and watchdog race to answer it; :meth:`claim` lets exactly one win.
    ``stage`` and ``stage_started`` are written by the worker and read by the
    watchdog (a stale read only delays the watchdog by one wake-up).
    """

    __slots__ = ('request', 'task', 'state', 'deadline_ms', 'stage', 'stage_started', 'times',
                 'on_done', 'answered', '_lock', 'final_at', 'retrieval_at', 'seq', 'facts',
                 'primary', 'generation')

    def __init__(self, request: PlanRequestData, state: RobotState, deadline_ms: float,
                 on_done, seq: int, task: str = ''):
        """Start in the queue; ``task`` is the normalized text every stage reads."""
        self.request = request
        self.task = task
        self.facts = None             # the answer policy's view of the task, once computed
        self.state = state
        self.deadline_ms = deadline_ms
        self.stage = QUEUED
        self.stage_started = request.received
        self.times = StageTimes()
        self.on_done = on_done
        self.answered = False
        self._lock = threading.Lock()
        self.seq = seq
        self.final_at = 0.0
        self.retrieval_at = 0.0
        self.primary = None           # the primary planner in force when it was taken
        self.generation = ''          # ... and the generation it was loaded from

    def claim(self) -> bool:
        """Return True for the one caller that gets to answer."""
        with self._lock:
            if self.answered:
                return False
            self.answered = True
            return True
