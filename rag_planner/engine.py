"""
The planning engine: stages on worker threads, a watchdog that holds the deadline.

A request is checked, then queued for a worker that runs the primary path
(retrieve -> generate, or retrieve -> retrieval baseline, or the rule
planner alone) and validates the result. A watchdog thread keeps the
deadlines of every request in flight: when retrieval has not finished by
``retrieval_timeout_ms``, generation by its budget, or the whole request
by ``deadline_ms - fallback_reserve_ms``, it answers at once with the
fallback chain (rule planner -> last-known safe plan -> HALT). Whichever of
worker and watchdog comes first answers; the other's result is dropped. A
worker that stays on one request far past its deadline is retired and
replaced, so a stuck onnxruntime or hnswlib call never stops the service.

Nothing here imports rclpy: the ROS node wraps this class.
"""

from collections import deque
from dataclasses import dataclass, field
import heapq
import itertools
import queue
import threading
import time
from typing import Any, Callable, Optional
import unicodedata
import uuid

from rag_planner.faults import FaultInjector, FaultSpec
from rag_planner.incident_log import IncidentLog
from rag_planner.params import PlannerConfig
from rag_planner.robot_state import check_state, RobotState, sanitize_state
from rag_planner.rule_planner import NotUnderstood, rule_plan
from rag_planner.safe_plan_store import SafePlanStore
from rag_planner.safety import SAFE_PLAN, SafetyConfig, validate_plan

# Python hands the GIL over every 5 ms by default: a watchdog waking while a worker
# runs Python code can wait that long per hand-over. Processes that serve plans set
# sys.setswitchinterval(GIL_SWITCH_INTERVAL_S) (measured: watchdog lag p99 8 -> 5 ms
# on a loaded 2-core machine, bench_watchdog --fault embed:hang).
GIL_SWITCH_INTERVAL_S = 0.001


@dataclass(frozen=True)
class PlanRequestData:
    """One request as the core sees it."""

    task: str
    state: RobotState
    deadline_ms: float = 0.0          # 0 = the configured deadline
    request_id: str = ''
    received: float = field(default_factory=time.monotonic)


@dataclass
class StageTimes:
    """Milliseconds spent per stage (0 for a stage that did not run)."""

    embed_ms: float = 0.0
    retrieve_ms: float = 0.0
    generate_ms: float = 0.0
    validate_ms: float = 0.0
    total_ms: float = 0.0


@dataclass
class PlanOutcome:
    """The answer to one request."""

    request_id: str
    robot_id: str
    success: bool
    steps: tuple
    source: str
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


@dataclass
class PrimaryResult:
    """What the primary path produced before validation."""

    steps: tuple
    source: str
    retrieved_ids: tuple = ()
    confidence: float = 1.0
    cache_hit: bool = False
    family: str = ''
    fallback_reason: str = ''         # a degraded path inside the stage (e.g. exact k-NN)
    note: str = ''                    # goes into the answer's message


class StageError(RuntimeError):
    """A stage failed; ``stage`` says which."""

    def __init__(self, stage: str, message: str):
        super().__init__(f'{stage} failed: {message}')
        self.stage = stage


class PrimaryPath:
    """
    The rule planner as primary path; subclasses add retrieval and generation.

    ``run`` is called on a worker thread and reports stage boundaries through
    ``progress(stage)`` so the watchdog applies the right budget.
    """

    name = 'rule_based'

    def run(self, request: PlanRequestData, state: RobotState, safety: SafetyConfig,
            config: PlannerConfig, faults: FaultInjector, progress: Callable[[str], None],
            times: StageTimes) -> PrimaryResult:
        """Plan with the rule planner."""
        plan = rule_plan(request.task, state, safety)
        return PrimaryResult(tuple(plan.steps), 'rule_based', family=plan.family,
                             confidence=1.0)


class _Pending:
    """A request in flight; answered exactly once."""

    __slots__ = ('request', 'state', 'deadline_ms', 'stage', 'stage_started', 'times',
                 'on_done', 'answered', 'lock', 'final_at', 'retrieval_at', 'seq')

    def __init__(self, request, state, deadline_ms, on_done, seq):
        self.request = request
        self.state = state
        self.deadline_ms = deadline_ms
        self.stage = 'queued'
        self.stage_started = request.received
        self.times = StageTimes()
        self.on_done = on_done
        self.answered = False
        self.lock = threading.Lock()
        self.seq = seq
        self.final_at = 0.0
        self.retrieval_at = 0.0


class _Worker:
    __slots__ = ('thread', 'current', 'started', 'retired')

    def __init__(self):
        self.thread = None
        self.current = None
        self.started = 0.0
        self.retired = False


@dataclass
class EngineCounters:
    """Running totals, for diagnostics and tests."""

    requests: int = 0
    rejected: int = 0
    fallbacks: int = 0
    watchdog_answers: int = 0
    slo_misses: int = 0
    workers_replaced: int = 0
    stuck_workers: int = 0            # ever retired as stuck
    stuck_now: int = 0                # retired and still inside their stage
    late_results_dropped: int = 0


class PlanningEngine:
    """Answers plan requests before their deadline, whatever the stages do."""

    def __init__(self, config: PlannerConfig, primary: Optional[PrimaryPath] = None,
                 safe_store: Optional[SafePlanStore] = None,
                 incidents: Optional[IncidentLog] = None,
                 on_fallback: Optional[Callable[[PlanOutcome], None]] = None,
                 on_notice: Optional[Callable[[str], None]] = None,
                 faults: Optional[FaultInjector] = None):
        self._config = config
        self._safety = SafetyConfig.from_dict(config.safety_dict())
        self._primary = primary or PrimaryPath()
        self._safe_store = safe_store or SafePlanStore(None)
        self._incidents = incidents or IncidentLog(None)
        self._on_fallback = on_fallback
        self._on_notice = on_notice
        self.faults = faults or FaultInjector()
        self.faults.set(fault_spec(config))
        self.counters = EngineCounters()
        # ms from the moment a watchdog deadline fell due to the fallback answer being handed
        # over: the cost of stepping in (issue target: <= 5 ms).
        self.watchdog_lags_ms: deque = deque(maxlen=100_000)
        self._queue: queue.Queue = queue.Queue()
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._heap: list = []
        self._workers: list = []
        self._workers_lock = threading.Lock()
        self._worker_names = itertools.count()
        self._closed = False
        self._watchdog = threading.Thread(target=self._watch, name='plan-watchdog', daemon=True)
        self._watchdog.start()
        for _ in range(config['workers']):
            self._spawn_worker()

    # ------------------------------------------------------------------ config
    @property
    def config(self) -> PlannerConfig:
        """Return the parameters in force."""
        return self._config

    @property
    def primary(self) -> PrimaryPath:
        """Return the primary path."""
        return self._primary

    @property
    def primary_name(self) -> str:
        """Return which primary path answers when nothing fails."""
        return self._primary.name

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
        self._closed = True
        self.faults.release()
        self._safe_store.close()
        with self._cond:
            self._cond.notify_all()
        for _ in self._workers:
            self._queue.put(None)

    # ----------------------------------------------------------------- submit
    def submit(self, request: PlanRequestData,
               on_done: Callable[[PlanOutcome], None]) -> None:
        """Start planning; ``on_done`` is called exactly once, from some engine thread."""
        self.counters.requests += 1
        deadline_ms = float(request.deadline_ms) if request.deadline_ms else \
            float(self._config['deadline_ms'])
        problem = self._check_request(request)
        state = request.state if isinstance(request.state, RobotState) else RobotState()
        if problem:
            self.counters.rejected += 1
            pending = _Pending(request, state, deadline_ms, on_done, next(self._seq))
            self._answer(pending, self._outcome(pending, False, SAFE_PLAN, 'safe_default',
                                                message=f'rejected: {problem}',
                                                fallback_reason='rejected'))
            return
        pending = _Pending(request, sanitize_state(state), deadline_ms, on_done,
                           next(self._seq))
        start = request.received
        reserve = self._config['fallback_reserve_ms']
        pending.final_at = start + max(0.0, deadline_ms - reserve) / 1000.0
        pending.retrieval_at = min(pending.final_at,
                                   start + self._config['retrieval_timeout_ms'] / 1000.0)
        if self._live_workers() == 0:
            self._fallback(pending, f'degraded: {self.counters.stuck_now} stuck workers, '
                                    'none free')
            return
        if self._queue.qsize() >= self._config['max_queue']:
            self._fallback(pending, f'overload: {self._queue.qsize()} requests waiting')
            return
        with self._cond:
            heapq.heappush(self._heap, (pending.retrieval_at, pending.seq, pending))
            self._cond.notify()
        self._queue.put(pending)

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

    def _check_request(self, request: PlanRequestData) -> str:
        task = request.task
        if not isinstance(task, str):
            return f'task is not text ({type(task).__name__})'
        if not task.strip():
            return 'task is empty'
        limit = self._config['max_task_chars']
        if len(task) > limit:
            return f'task has {len(task)} characters, more than max_task_chars {limit}'
        bad = sum(1 for ch in task if unicodedata.category(ch) in ('Cc', 'Cs', 'Co', 'Cn')
                  and ch not in '\t\n\r')
        if bad or '\ufffd' in task:
            return 'task contains control or undecodable characters'
        if request.deadline_ms and not 1 <= request.deadline_ms <= 60000:
            return f'deadline_ms {request.deadline_ms} outside 1..60000'
        problems = check_state(request.state)
        if problems:
            return 'bad robot state: ' + '; '.join(problems[:3])
        return ''

    # ----------------------------------------------------------------- workers
    def _spawn_worker(self) -> None:
        worker = _Worker()
        worker.thread = threading.Thread(target=self._work, args=(worker,),
                                         name=f'plan-worker-{next(self._worker_names)}',
                                         daemon=True)
        with self._workers_lock:
            self._workers.append(worker)
        worker.thread.start()

    def _live_workers(self) -> int:
        with self._workers_lock:
            return sum(1 for w in self._workers if not w.retired)

    def _work(self, worker: _Worker) -> None:
        while not self._closed and not worker.retired:
            pending = self._queue.get()
            if pending is None:
                return
            if pending.answered:
                continue
            worker.current, worker.started = pending, time.monotonic()
            try:
                self._run_primary(pending)
            except Exception as exc:  # noqa: B902 - a stage may raise anything
                self._fallback(pending, f'internal error: {exc!r}')
            finally:
                worker.current = None
        if worker.retired:
            self.counters.stuck_now -= 1
            with self._workers_lock:
                self._workers.remove(worker)
            missing = self._config['workers'] - self._live_workers()
            for _ in range(max(0, missing)):
                self._spawn_worker()
            self._notice(f'{worker.thread.name} returned after being retired; exiting'
                         + (f', {missing} worker(s) started' if missing > 0 else ''))

    def _run_primary(self, pending: _Pending) -> None:
        cfg = self._config
        times = pending.times

        def progress(stage: str) -> None:
            now = time.monotonic()
            with self._cond:
                pending.stage = stage
                pending.stage_started = now
                if stage == 'generate':
                    at = min(pending.final_at, now + cfg['generate_budget_ms'] / 1000.0)
                    heapq.heappush(self._heap, (at, pending.seq, pending))
                    self._cond.notify()

        progress('retrieve')
        try:
            result = self._primary.run(pending.request, pending.state, self._safety, cfg,
                                       self.faults, progress, times)
        except NotUnderstood as exc:
            self._fallback(pending, f'task not understood: {exc}', rule_tried=True)
            return
        except StageError as exc:
            self._fallback(pending, str(exc))
            return
        except Exception as exc:  # noqa: B902 - any stage failure means fallback
            self._fallback(pending, f'{pending.stage} failed: {exc!r}')
            return
        if pending.answered:
            self.counters.late_results_dropped += 1
            return
        progress('validate')
        t = time.monotonic()
        validation = validate_plan(list(result.steps), pending.state, self._safety)
        times.validate_ms = (time.monotonic() - t) * 1000.0
        if not validation.ok:
            self._fallback(pending, f'{result.source} plan failed validation: '
                           + '; '.join(validation.violations[:3]),
                           rule_tried=result.source == 'rule_based')
            return
        if result.confidence < cfg['min_confidence']:
            self._fallback(pending, f'{result.source} plan confidence {result.confidence:.2f} '
                           f'below min_confidence {cfg["min_confidence"]}')
            return
        outcome = self._outcome(pending, True, result.steps, result.source,
                                retrieved_ids=result.retrieved_ids,
                                confidence=result.confidence, cache_hit=result.cache_hit,
                                family=result.family, message=result.note,
                                fallback_reason=result.fallback_reason)
        if self._answer(pending, outcome):
            self._safe_store_put(pending, result.steps)

    # ---------------------------------------------------------------- watchdog
    def _watch(self) -> None:
        while not self._closed:
            with self._cond:
                now = time.monotonic()
                due = []
                while self._heap and self._heap[0][0] <= now:
                    at, _, pending = heapq.heappop(self._heap)
                    due.append((at, pending))
                if not due:
                    timeout = (self._heap[0][0] - now) if self._heap else 0.05
                    self._cond.wait(min(timeout, 0.05))
            for at, pending in due:
                self._check_due(pending, now, at)
            self._check_workers()

    def _check_due(self, pending: _Pending, now: float, due_at: float) -> None:
        if pending.answered:
            return
        stage = pending.stage
        if now >= pending.final_at:
            reason = f'deadline at risk during {stage}'
        elif stage in ('queued', 'retrieve'):
            if now < pending.retrieval_at:
                self._arm(pending, pending.retrieval_at)
                return
            reason = (f'retrieval exceeded retrieval_timeout_ms '
                      f'{self._config["retrieval_timeout_ms"]:g}' if stage == 'retrieve' else
                      'request waited too long for a worker')
        elif stage == 'generate':
            at = min(pending.final_at,
                     pending.stage_started + self._config['generate_budget_ms'] / 1000.0)
            if now < at:
                self._arm(pending, at)
                return
            reason = (f'generation exceeded generate_budget_ms '
                      f'{self._config["generate_budget_ms"]:g}')
        else:
            self._arm(pending, pending.final_at)
            return
        if self._fallback(pending, reason):
            self.counters.watchdog_answers += 1
            self.watchdog_lags_ms.append((time.monotonic() - due_at) * 1000.0)

    def _arm(self, pending: _Pending, at: float) -> None:
        with self._cond:
            heapq.heappush(self._heap, (at, pending.seq, pending))
            self._cond.notify()

    def _check_workers(self) -> None:
        now = time.monotonic()
        limit_s = max(0.5, 4 * self._config['deadline_ms'] / 1000.0)
        with self._workers_lock:
            workers = list(self._workers)
        for worker in workers:
            current = worker.current
            if worker.retired or current is None or now - worker.started < limit_s:
                continue
            worker.retired = True
            self.counters.stuck_workers += 1
            self.counters.stuck_now += 1
            msg = (f'{worker.thread.name} stuck for {now - worker.started:.1f} s in '
                   f'{current.stage}; retired')
            if self.counters.stuck_now <= self._config['max_stuck_workers']:
                self._spawn_worker()
                self.counters.workers_replaced += 1
                msg += ' and replaced'
            else:
                msg += ' (max_stuck_workers reached: not replaced)'
            self._incidents.append({'event': 'worker_stuck', 'message': msg})
            self._notice(msg)

    # ---------------------------------------------------------------- fallback
    def _fallback(self, pending: _Pending, reason: str, rule_tried: bool = False) -> bool:
        """Answer with rule planner -> last-known safe -> HALT; False if already answered."""
        if pending.answered:
            return False
        steps, source, family, why = None, '', '', reason
        if not rule_tried:
            try:
                plan = rule_plan(pending.request.task, pending.state, self._safety)
                if validate_plan(list(plan.steps), pending.state, self._safety).ok:
                    steps, source, family = tuple(plan.steps), 'rule_based', plan.family
                else:
                    why += '; rule plan invalid'
            except NotUnderstood as exc:
                why += f'; rule planner: {exc}'
            except Exception as exc:  # noqa: B902 - the chain must go on
                why += f'; rule planner failed: {exc!r}'
        if steps is None:
            last = self._safe_store.get(pending.state.robot_id)
            if last and validate_plan(list(last), pending.state, self._safety).ok:
                steps, source = tuple(last), 'last_known_safe'
            else:
                steps, source = SAFE_PLAN, 'safe_default'
        outcome = self._outcome(pending, True, steps, source, message=f'fallback: {why}',
                                fallback_reason=reason, family=family)
        answered = self._answer(pending, outcome)
        if answered:
            self.counters.fallbacks += 1
            if source == 'rule_based':
                self._safe_store_put(pending, steps)
            if self._on_fallback is not None:
                try:
                    self._on_fallback(outcome)
                except Exception as exc:  # noqa: B902 - publishing must not break answering
                    self._notice(f'on_fallback failed: {exc!r}')
        return answered

    def _safe_store_put(self, pending: _Pending, steps: tuple) -> None:
        try:
            self._safe_store.put(pending.state.robot_id, steps)
        except OSError as exc:
            self._notice(f'could not persist last-known safe plan: {exc}')

    # ------------------------------------------------------------------ answer
    def _outcome(self, pending: _Pending, success: bool, steps, source: str,
                 **kw: Any) -> PlanOutcome:
        robot_id = getattr(pending.request.state, 'robot_id', '')
        return PlanOutcome(request_id=str(pending.request.request_id)[:128],
                           robot_id=robot_id[:64] if isinstance(robot_id, str) else '',
                           success=success, steps=tuple(steps), source=source,
                           plan_id=uuid.uuid4().hex[:12], deadline_ms=pending.deadline_ms,
                           times=pending.times, **kw)

    def _answer(self, pending: _Pending, outcome: PlanOutcome) -> bool:
        with pending.lock:
            if pending.answered:
                return False
            pending.answered = True
        outcome.times.total_ms = (time.monotonic() - pending.request.received) * 1000.0
        outcome.slo_met = outcome.times.total_ms <= pending.deadline_ms
        if not outcome.slo_met:
            self.counters.slo_misses += 1
        if outcome.fallback_reason or not outcome.slo_met:
            self._incidents.append({
                'event': 'fallback' if outcome.fallback_reason else 'slo_miss',
                'robot_id': outcome.robot_id, 'request_id': outcome.request_id,
                'task': pending.request.task[:200] if isinstance(pending.request.task, str)
                else '', 'source': outcome.source, 'reason': outcome.fallback_reason,
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


def fault_spec(config: PlannerConfig) -> FaultSpec:
    """Return the fault.* parameters as a FaultSpec."""
    return FaultSpec(config['fault.stage'], config['fault.mode'], config['fault.delay_ms'])
