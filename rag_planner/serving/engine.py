"""
The planning engine: answers every request before its deadline, whatever the stages do.

A request is checked (:func:`rag_planner.domain.request.check_request`), then
queued for a worker (:mod:`.workers`) that runs the primary planner and
validates its plan. The watchdog (:mod:`.watchdog`) keeps the request's
deadlines: when retrieval has not finished by ``retrieval_timeout_ms``,
generation by its budget, or the whole request by ``deadline_ms -
fallback_reserve_ms``, the fallback chain (:mod:`.fallback`) answers at once.
Whichever of worker and watchdog comes first answers; the other's result is
dropped. Failures arrive typed (:mod:`rag_planner.errors`) and leave as codes.

Nothing here imports rclpy: the ROS node wraps this class.
"""

from collections import deque
import itertools
import threading
import time
from typing import Any, Callable, Optional
import uuid

from rag_planner.domain.answers import ErrorCode, Fallback, Source
from rag_planner.domain.request import check_request
from rag_planner.domain.robot_state import RobotState, sanitize_state
from rag_planner.domain.safety import SAFE_PLAN, SafetyConfig, validate_plan
from rag_planner.errors import NotUnderstood, StageFailure
from rag_planner.params import PlannerConfig
from rag_planner.planners.base import PlanContext, Planner
from rag_planner.planners.rule_based import RulePlanner
from rag_planner.serving.counters import EngineCounters
from rag_planner.serving.fallback import FallbackChain
from rag_planner.serving.faults import fault_spec, FaultInjector
from rag_planner.serving.incident_log import IncidentLog
from rag_planner.serving.last_known_safe import SafePlanStore
from rag_planner.serving.pending import Pending, QUEUED
from rag_planner.serving.request import PlanOutcome, PlanRequestData
from rag_planner.serving.watchdog import Watchdog
from rag_planner.serving.workers import WorkerPool

# Python hands the GIL over every 5 ms by default: a watchdog waking while a worker
# runs Python code can wait that long per hand-over. Processes that serve plans set
# sys.setswitchinterval(GIL_SWITCH_INTERVAL_S) (measured: watchdog lag p99 8 -> 5 ms
# on a loaded 2-core machine, bench_watchdog --fault embed:hang).
GIL_SWITCH_INTERVAL_S = 0.001
# A worker on one request for this many deadlines is stuck (never shorter than 0.5 s).
STUCK_DEADLINES = 4


class PlanningEngine:
    """Answers plan requests before their deadline, whatever the stages do."""

    def __init__(self, config: PlannerConfig, primary: Optional[Planner] = None,
                 safe_store: Optional[SafePlanStore] = None,
                 incidents: Optional[IncidentLog] = None,
                 on_fallback: Optional[Callable[[PlanOutcome], None]] = None,
                 on_notice: Optional[Callable[[str], None]] = None,
                 faults: Optional[FaultInjector] = None):
        """Start the watchdog and the workers; ``primary`` defaults to the rule planner."""
        self._config = config
        self._safety = SafetyConfig.from_dict(config.safety_dict())
        self._primary = primary or RulePlanner()
        self._safe_store = safe_store or SafePlanStore(None)
        self._chain = FallbackChain(self._safe_store)
        self._incidents = incidents or IncidentLog(None)
        self._on_fallback = on_fallback
        self._on_notice = on_notice
        self.faults = faults or FaultInjector()
        self.faults.set(fault_spec(config))
        self.counters = EngineCounters()
        # ms from the moment a watchdog deadline fell due to the fallback answer being handed
        # over: the cost of stepping in (issue target: <= 5 ms).
        self.watchdog_lags_ms: deque = deque(maxlen=100_000)
        self._seq = itertools.count()
        self._watchdog = Watchdog(self._check_due, self._retire_stuck)
        self._pool = WorkerPool(config['workers'], self._run, self._crashed, self.counters,
                                self._retired, self._notice)

    # ------------------------------------------------------------------ config
    @property
    def config(self) -> PlannerConfig:
        """Return the parameters in force."""
        return self._config

    @property
    def primary(self) -> Planner:
        """Return the primary planner."""
        return self._primary

    @property
    def primary_name(self) -> str:
        """Return which primary path answers when nothing fails."""
        return str(self._primary.name)

    def update_config(self, config: PlannerConfig) -> None:
        """Apply changed run-time parameters (faults, budgets, safety limits)."""
        safety = SafetyConfig.from_dict(config.safety_dict())
        self._config = config
        self._safety = safety
        spec = fault_spec(config)
        if spec != self.faults.spec:
            self.faults.set(spec)

    def close(self) -> None:
        """Stop the threads; hung stages are released."""
        self.faults.release()
        self._primary.close()
        self._safe_store.close()
        self._watchdog.close()
        self._pool.close()

    # ----------------------------------------------------------------- submit
    def submit(self, request: PlanRequestData,
               on_done: Callable[[PlanOutcome], None]) -> None:
        """Start planning; ``on_done`` is called exactly once, from some engine thread."""
        self.counters.add('requests')
        cfg = self._config
        deadline_ms = float(request.deadline_ms) if request.deadline_ms else \
            float(cfg['deadline_ms'])
        problem = check_request(request.task, request.state, request.deadline_ms,
                                cfg['max_task_chars'])
        state = request.state if isinstance(request.state, RobotState) else RobotState()
        if problem:
            self.counters.add('rejected')
            pending = Pending(request, state, deadline_ms, on_done, next(self._seq))
            self._answer(pending, self._outcome(
                pending, SAFE_PLAN, Source.SAFE_DEFAULT, error=ErrorCode.INVALID_REQUEST,
                message=f'rejected: {problem}', fallback_reason='rejected'))
            return
        pending = Pending(request, sanitize_state(state), deadline_ms, on_done,
                          next(self._seq))
        start = request.received
        pending.final_at = start + max(0.0, deadline_ms - cfg['fallback_reserve_ms']) / 1000.0
        pending.retrieval_at = min(pending.final_at,
                                   start + cfg['retrieval_timeout_ms'] / 1000.0)
        if self._pool.live() == 0:
            stuck = self.counters.snapshot()['stuck_now']
            self._fallback(pending, Fallback.DEGRADED,
                           f'degraded: {stuck} stuck workers, none free')
            return
        waiting = self._pool.queued()
        if waiting >= cfg['max_queue']:
            self._fallback(pending, Fallback.OVERLOAD, f'overload: {waiting} requests waiting')
            return
        self._watchdog.arm(pending, pending.retrieval_at)
        self._pool.put(pending)

    def plan(self, request: PlanRequestData, timeout: Optional[float] = None) -> PlanOutcome:
        """Blocking form of submit (benchmarks, tools, tests)."""
        box: list = []
        done = threading.Event()

        def finish(outcome: PlanOutcome) -> None:
            box.append(outcome)
            done.set()

        self.submit(request, finish)
        if not done.wait(timeout if timeout is not None else 60.0):
            raise TimeoutError('engine did not answer')
        return box[0]

    # ----------------------------------------------------------------- worker
    def _enter(self, pending: Pending, stage: str) -> None:
        """Record a stage boundary; generation gets its own budget from now."""
        now = time.monotonic()
        pending.stage = stage
        pending.stage_started = now
        if stage == 'generate':
            self._watchdog.arm(pending, min(pending.final_at,
                                            now + self._config['generate_budget_ms'] / 1000.0))

    def _run(self, pending: Pending) -> None:
        """Run the primary planner and validate its plan (on a worker thread)."""
        cfg, safety = self._config, self._safety
        context = PlanContext(pending.request.task, pending.state, safety, cfg, pending.times,
                              lambda stage: self._enter(pending, stage))
        self._enter(pending, 'retrieve')
        try:
            result = self._primary.plan(context)
        except NotUnderstood as exc:
            self._fallback(pending, Fallback.NONE, f'task not understood: {exc}',
                           rule_tried=True)
            return
        except StageFailure as exc:
            self._fallback(pending, exc.fallback, str(exc))
            return
        except Exception as exc:  # noqa: B902 - any stage failure means fallback
            self._fallback(pending, Fallback.STAGE_ERROR, f'{pending.stage} failed: {exc!r}')
            return
        if pending.answered:
            self.counters.add('late_results_dropped')
            return
        self._enter(pending, 'validate')
        t = time.monotonic()
        validation = validate_plan(list(result.steps), pending.state, safety)
        pending.times.validate_ms = (time.monotonic() - t) * 1000.0
        if not validation.ok:
            self._fallback(pending, Fallback.INVALID_PLAN,
                           f'{result.source} plan failed validation: '
                           + '; '.join(validation.violations[:3]),
                           rule_tried=result.source == Source.RULE_BASED)
            return
        if result.confidence < cfg['min_confidence']:
            self._fallback(pending, Fallback.INVALID_PLAN,
                           f'{result.source} plan confidence {result.confidence:.2f} '
                           f'below min_confidence {cfg["min_confidence"]}')
            return
        outcome = self._outcome(pending, result.steps, result.source,
                                retrieved_ids=result.retrieved_ids,
                                confidence=result.confidence, cache_hit=result.cache_hit,
                                family=result.family, message=result.note,
                                fallback=result.degraded, fallback_reason=result.note)
        if self._answer(pending, outcome):
            self._remember(pending, result.steps)

    def _crashed(self, pending: Pending, exc: BaseException) -> None:
        self._fallback(pending, Fallback.STAGE_ERROR, f'internal error: {exc!r}')

    # ---------------------------------------------------------------- watchdog
    def _check_due(self, pending: Pending, now: float, due_at: float) -> None:
        """Answer ``pending`` through the chain if its deadline is due, else re-arm."""
        if pending.answered:
            return
        stage = pending.stage
        cfg = self._config
        if now >= pending.final_at:
            reason = f'deadline at risk during {stage}'
        elif stage in (QUEUED, 'retrieve'):
            if now < pending.retrieval_at:
                self._watchdog.arm(pending, pending.retrieval_at)
                return
            reason = (f'retrieval exceeded retrieval_timeout_ms '
                      f'{cfg["retrieval_timeout_ms"]:g}' if stage == 'retrieve' else
                      'request waited too long for a worker')
        elif stage == 'generate':
            at = min(pending.final_at, pending.stage_started + cfg['generate_budget_ms'] / 1000.0)
            if now < at:
                self._watchdog.arm(pending, at)
                return
            reason = f'generation exceeded generate_budget_ms {cfg["generate_budget_ms"]:g}'
        else:
            self._watchdog.arm(pending, pending.final_at)
            return
        if self._fallback(pending, Fallback.STAGE_TIMEOUT, reason):
            self.counters.add('watchdog_answers')
            self.watchdog_lags_ms.append((time.monotonic() - due_at) * 1000.0)

    def _retire_stuck(self) -> None:
        limit_s = max(0.5, STUCK_DEADLINES * self._config['deadline_ms'] / 1000.0)
        self._pool.retire_stuck(limit_s, self._config['max_stuck_workers'])

    def _retired(self, message: str) -> None:
        self._incidents.append({'event': 'worker_stuck', 'message': message})
        self._notice(message)

    # ---------------------------------------------------------------- fallback
    def _fallback(self, pending: Pending, code: Fallback, reason: str,
                  rule_tried: bool = False) -> bool:
        """Answer with rule planner -> last-known safe -> HALT; False if already answered."""
        if pending.answered:
            return False
        chain = self._chain.answer(pending.request.task, pending.state, self._safety,
                                   rule_tried)
        outcome = self._outcome(pending, chain.steps, chain.source, fallback=code,
                                message=f'fallback: {reason}{chain.detail}',
                                fallback_reason=reason, family=chain.family, chain=True)
        answered = self._answer(pending, outcome)
        if answered:
            self.counters.add('fallbacks')
            if chain.source == Source.RULE_BASED:
                self._remember(pending, chain.steps)
            if self._on_fallback is not None:
                try:
                    self._on_fallback(outcome)
                except Exception as exc:  # noqa: B902 - publishing must not break answering
                    self._notice(f'on_fallback failed: {exc!r}')
        return answered

    def _remember(self, pending: Pending, steps: tuple) -> None:
        try:
            self._safe_store.put(pending.state.robot_id, steps)
        except OSError as exc:
            self._notice(f'could not persist last-known safe plan: {exc}')

    # ------------------------------------------------------------------ answer
    def _outcome(self, pending: Pending, steps, source: Source, **kw: Any) -> PlanOutcome:
        robot_id = getattr(pending.request.state, 'robot_id', '')
        return PlanOutcome(request_id=str(pending.request.request_id)[:128],
                           robot_id=robot_id[:64] if isinstance(robot_id, str) else '',
                           steps=tuple(steps), source=source, plan_id=uuid.uuid4().hex[:12],
                           deadline_ms=pending.deadline_ms, times=pending.times, **kw)

    def _answer(self, pending: Pending, outcome: PlanOutcome) -> bool:
        if not pending.claim():
            return False
        outcome.times.total_ms = (time.monotonic() - pending.request.received) * 1000.0
        outcome.slo_met = outcome.times.total_ms <= pending.deadline_ms
        if not outcome.slo_met:
            self.counters.add('slo_misses')
        if outcome.fallback_reason or not outcome.slo_met:
            task = pending.request.task
            self._incidents.append({
                'event': 'fallback' if outcome.fallback_reason else 'slo_miss',
                'robot_id': outcome.robot_id, 'request_id': outcome.request_id,
                'task': task[:200] if isinstance(task, str) else '',
                'source': str(outcome.source), 'error_code': outcome.error.name,
                'fallback': outcome.fallback.name, 'reason': outcome.fallback_reason,
                'message': outcome.message, 'slo_met': outcome.slo_met,
                'latency_ms': vars(outcome.times).copy(),
                'plan': '; '.join(str(s) for s in outcome.steps)})
        try:
            pending.on_done(outcome)
        except Exception as exc:  # noqa: B902 - a broken callback must not kill a worker
            self._notice(f'on_done failed: {exc!r}')
        return True

    def _notice(self, message: str) -> None:
        if self._on_notice is not None:
            self._on_notice(message)


__all__ = ['GIL_SWITCH_INTERVAL_S', 'PlanningEngine']
