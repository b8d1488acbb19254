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
from rag_planner.domain.entities import extract_entities
from rag_planner.domain.language import mostly_unknown_words, task_language, unrelated_clause
from rag_planner.domain.request import (
    check_request, lookalike_ids, normalize_task, UNKNOWN_LANGUAGE)
from rag_planner.domain.plan_grammar import format_plan
from rag_planner.domain.robot_state import RobotState, sanitize_state
from rag_planner.domain.safety import SAFE_PLAN, SafetyConfig
from rag_planner.errors import MissingArgument, NotUnderstood, StageFailure, TaskRefused
from rag_planner.params import PlannerConfig
from rag_planner.planners.base import PlanContext, Planner, PlanResult
from rag_planner.planners.rule_based import rule_plan, RulePlanner
from rag_planner.retrieval.embedder import ModelLoadError
from rag_planner.retrieval.lexicon import english_words, task_words
from rag_planner.serving.answers import AnswerPolicy, task_facts, Verdict
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


def _load_words(load: Callable[[], frozenset], notice: Callable[[str], None],
                without: str) -> frozenset:
    """Return ``load()`` (a word list of the text checks); empty, and said, if unreadable."""
    try:
        return load()
    except ModelLoadError as exc:
        notice(f'{without}: {exc}')
        return frozenset()


class PlanningEngine:
    """Answers plan requests before their deadline, whatever the stages do."""

    def __init__(self, config: PlannerConfig, primary: Optional[Planner] = None,
                 safe_store: Optional[SafePlanStore] = None,
                 incidents: Optional[IncidentLog] = None,
                 on_fallback: Optional[Callable[[PlanOutcome], None]] = None,
                 on_notice: Optional[Callable[[str], None]] = None,
                 faults: Optional[FaultInjector] = None, generation: str = ''):
        """
        Start the watchdog and the workers; ``primary`` defaults to the rule planner.

        ``generation`` names the generation (library, index, generator) ``primary`` was
        loaded from; every answer carries it.
        """
        self._config = config
        self._safety = SafetyConfig.from_dict(config.safety_dict())
        self._policy = AnswerPolicy(self._safety)
        # (primary planner, generation id): one attribute, replaced as a whole by a swap
        self._serving = (primary or RulePlanner(), generation)
        # a store handed in belongs to the caller (a lifecycle node keeps it across cleanup)
        self._owns_store = safe_store is None
        self._safe_store = safe_store or SafePlanStore(None)
        self._chain = FallbackChain(self._safe_store)
        self._incidents = incidents or IncidentLog(None)
        self._on_fallback = on_fallback
        self._on_notice = on_notice
        self.faults = faults or FaultInjector()
        self.faults.set(fault_spec(config))
        self.counters = EngineCounters()
        self._lexicon = _load_words(english_words, self._notice,
                                    'language check without a lexicon (function words only)')
        self._task_words = _load_words(task_words, self._notice,
                                       'no check for clauses that are no task')
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
        return self._serving[0]

    @property
    def primary_name(self) -> str:
        """Return which primary path answers when nothing fails."""
        return str(self._serving[0].name)

    @property
    def generation(self) -> str:
        """Return the id of the generation the primary planner was loaded from."""
        return self._serving[1]

    def swap_primary(self, primary: Planner, generation: str) -> Planner:
        """
        Serve requests taken from now on with ``primary``; return the one it replaces.

        Requests already taken finish with the planner they started with (each request
        holds its own), so nothing is answered by half of each; the caller closes the
        old planner once those are done.
        """
        old = self._serving[0]
        self._serving = (primary, generation)  # one store: a request sees one pair or the other
        return old

    def update_config(self, config: PlannerConfig) -> None:
        """Apply changed run-time parameters (faults, budgets, safety limits)."""
        safety = SafetyConfig.from_dict(config.safety_dict())
        self._config = config
        self._safety = safety
        self._policy = AnswerPolicy(safety)
        spec = fault_spec(config)
        if spec != self.faults.spec:
            self.faults.set(spec)

    def close(self, close_primary: bool = True) -> None:
        """Stop the threads; hung stages are released (the primary kept if asked)."""
        self.faults.release()
        if close_primary:
            self._serving[0].close()
        if self._owns_store:
            self._safe_store.close()
        else:
            self._safe_store.flush()
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
        task = normalize_task(request.task) if not problem else ''
        if not problem and not task.strip():
            problem = 'task is empty (only format characters)'
        if problem:
            self.counters.add('rejected')
            pending = Pending(request, state, deadline_ms, on_done, next(self._seq))
            self._answer(pending, self._outcome(
                pending, SAFE_PLAN, Source.SAFE_DEFAULT, error=ErrorCode.INVALID_REQUEST,
                message=f'rejected: {problem}'))
            return
        pending = Pending(request, sanitize_state(state), deadline_ms, on_done,
                          next(self._seq), task)
        pending.primary, pending.generation = self._serving
        lookalikes = lookalike_ids(task)
        language, where = task_language(task, self._lexicon)
        if not language and mostly_unknown_words(task, self._lexicon, self._task_words):
            language, where = UNKNOWN_LANGUAGE, 'the task'
        unrelated = '' if lookalikes or language else unrelated_clause(
            task, self._lexicon, self._task_words)
        if unrelated:
            self._refuse(pending, self._unrelated_refusal(pending, unrelated))
            return
        if lookalikes or language:
            self._refuse(pending, NotUnderstood(
                f'cannot read {lookalikes[0]!r}: it mixes Latin letters or digits with a '
                'look-alike character of another script' if lookalikes else
                f'{where} is not in English (most of its words are not English words)'
                if language == UNKNOWN_LANGUAGE else
                f'{where} is not in English (it reads as {language})'))
            return
        start = request.received
        pending.final_at = start + max(0.0, deadline_ms - cfg['fallback_reserve_ms']) / 1000.0
        pending.retrieval_at = min(pending.final_at,
                                   start + cfg['retrieval_timeout_ms'] / 1000.0)
        late_ms = (time.monotonic() - pending.final_at) * 1000.0
        if late_ms >= 0.0:
            # it waited in the middleware past its deadline: no time to plan, answer now
            self.counters.add('late_on_arrival')
            self._fallback(pending, Fallback.OVERLOAD,
                           f'overload: the request waited '
                           f'{(time.monotonic() - start) * 1000.0:.0f} ms before it was '
                           'taken, past its deadline')
            return
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

    def _facts(self, pending: Pending):
        """Return what the answer policy needs to know of the task (computed once)."""
        if pending.facts is None:
            pending.facts = task_facts(pending.task, extract_entities(pending.task),
                                       pending.state, self._safety)
        return pending.facts

    def _run(self, pending: Pending) -> None:
        """Run the primary planner and judge its plan (on a worker thread)."""
        cfg = self._config
        context = PlanContext(pending.task, pending.state, self._safety, cfg, pending.times,
                              lambda stage: self._enter(pending, stage))
        self._enter(pending, 'retrieve')
        try:
            result = pending.primary.plan(context)
        except TaskRefused as refusal:  # an answer, not a failure: ask for a second opinion
            if pending.answered:
                self.counters.add('late_results_dropped')
            elif isinstance(pending.primary, RulePlanner):
                self._refuse(pending, refusal)
            else:
                self._second_opinion(pending, refusal)
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
        verdict = self._policy.judge(result.steps, pending.state, self._facts(pending),
                                     cover=result.source != Source.RULE_BASED)
        pending.times.validate_ms = (time.monotonic() - t) * 1000.0
        if verdict.plan_fault:
            self._fallback(pending, Fallback.INVALID_PLAN,
                           f'{result.source} plan rejected: {verdict.message}',
                           rule_tried=result.source == Source.RULE_BASED)
            return
        if result.confidence < cfg['min_confidence']:
            self._fallback(pending, Fallback.INVALID_PLAN,
                           f'{result.source} plan confidence {result.confidence:.2f} '
                           f'below min_confidence {cfg["min_confidence"]}')
            return
        if result.rule_steps and tuple(result.rule_steps) != tuple(result.steps):
            self._disagree(pending, result)
            return
        self._give(pending, verdict, result)

    def _disagree(self, pending: Pending, result: PlanResult) -> None:
        """
        Refuse a task where a valid learned plan differs from the rule planner's plan.

        Both are valid plans, so the validator cannot tell which does the task; on the
        dev split the learned plan was the wrong one (a swapped source and
        destination), on the test split the rule plan (a role it misread): neither is
        trusted, the task is not understood (the model card has the numbers).
        """
        self.counters.add('disagreements')
        self._refuse(pending, NotUnderstood(
            f'the {result.source} plan ({format_plan(result.steps)}) and the rule plan '
            f'({format_plan(result.rule_steps)}) do not agree on what the task asks'))

    def _give(self, pending: Pending, verdict: Verdict, result: PlanResult) -> None:
        """Answer with a planner's judged plan (or the refusal it became)."""
        ok = verdict.error == ErrorCode.NONE
        note = '; '.join(m for m in (result.note, verdict.message) if m)
        outcome = self._outcome(pending, verdict.steps,
                                result.source if ok else Source.SAFE_DEFAULT,
                                error=verdict.error, retrieved_ids=result.retrieved_ids,
                                confidence=result.confidence if ok else 0.0,
                                cache_hit=result.cache_hit, family=result.family,
                                message=note, fallback=result.degraded,
                                fallback_reason=result.note)
        if self._answer(pending, outcome) and ok:
            self._remember(pending, verdict.steps)

    def _second_opinion(self, pending: Pending, refusal: TaskRefused) -> None:
        """
        Ask the rule planner when the primary did not plan the task: its view decides.

        When both refuse, the rule planner's reason is the answer (on the dev sets
        it named the right code more often: the model card has the numbers).
        """
        try:
            plan = rule_plan(pending.task, pending.state, self._safety)
        except TaskRefused as exc:
            self._refuse(pending, exc, 'rule planner: ', f'{pending.primary.name}: {refusal}')
            return
        verdict = self._policy.judge(plan.steps, pending.state, self._facts(pending),
                                     cover=False)
        if verdict.plan_fault:
            self._refuse(pending, refusal, f'{pending.primary.name}: ')
            return
        result = PlanResult(plan.steps, Source.RULE_BASED, family=plan.family,
                            note=f'second opinion: {pending.primary.name} said "{refusal}"')
        self._give(pending, verdict, result)

    def _unrelated_refusal(self, pending: Pending, clause: str) -> TaskRefused:
        """
        Return the refusal of a task with a clause that is no task (NOT_UNDERSTOOD).

        A missing argument the rule planner names is the more specific answer (model
        card, rule 2): on final13 the check's NOT_UNDERSTOOD had taken 23 of them.
        """
        try:
            rule_plan(pending.task, pending.state, self._safety)
        except MissingArgument as exc:
            return exc
        except TaskRefused:
            pass
        return NotUnderstood(f'a clause of the task asks for something that is no task: '
                             f'{clause[:48]!r}')

    def _refuse(self, pending: Pending, refusal: TaskRefused, prefix: str = '',
                note: str = '') -> None:
        """Answer a refusal of the task: its code, the safe action, no stage failure."""
        verdict = self._policy.refuse(refusal, pending.state, prefix, note)
        self._answer(pending, self._outcome(pending, verdict.steps, Source.SAFE_DEFAULT,
                                            error=verdict.error, message=verdict.message,
                                            missing=verdict.missing))

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
        chain = self._chain.answer(pending.task, pending.state, self._policy,
                                   self._facts(pending), rule_tried, code)
        verdict = chain.verdict
        message = f'fallback: {reason}{chain.detail}' + \
            (f'; {verdict.message}' if verdict.message else '')
        outcome = self._outcome(pending, verdict.steps, chain.source, error=verdict.error,
                                fallback=code, message=message, fallback_reason=reason,
                                family=chain.family, chain=True)
        answered = self._answer(pending, outcome)
        if answered:
            self.counters.add('fallbacks')
            if chain.source == Source.RULE_BASED and verdict.error == ErrorCode.NONE:
                self._remember(pending, verdict.steps)
            if self._on_fallback is not None:
                try:
                    self._on_fallback(outcome)
                except Exception as exc:  # noqa: B902 - publishing must not break answering
                    self._notice(f'on_fallback failed: {exc!r}')
        return answered

    def _remember(self, pending: Pending, steps: tuple) -> None:
        try:
            self._safe_store.put(pending.state.robot_id, pending.task, steps)
        except OSError as exc:
            self._notice(f'could not persist last-known safe plan: {exc}')

    # ------------------------------------------------------------------ answer
    def _outcome(self, pending: Pending, steps, source: Source, **kw: Any) -> PlanOutcome:
        robot_id = getattr(pending.request.state, 'robot_id', '')
        return PlanOutcome(request_id=str(pending.request.request_id)[:128],
                           robot_id=robot_id[:64] if isinstance(robot_id, str) else '',
                           steps=tuple(steps), source=source, plan_id=uuid.uuid4().hex[:12],
                           deadline_ms=pending.deadline_ms, times=pending.times,
                           generation=pending.generation or self._serving[1], **kw)

    def _answer(self, pending: Pending, outcome: PlanOutcome) -> bool:
        if not pending.claim():
            return False
        outcome.times.total_ms = (time.monotonic() - pending.request.received) * 1000.0
        outcome.slo_met = outcome.times.total_ms <= pending.deadline_ms
        if not outcome.slo_met:
            self.counters.add('slo_misses')
        if outcome.fallback_reason or outcome.error != ErrorCode.NONE or not outcome.slo_met:
            task = pending.request.task
            self._incidents.append({
                'event': 'fallback' if outcome.fallback_reason else
                'refusal' if outcome.error != ErrorCode.NONE else 'slo_miss',
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
