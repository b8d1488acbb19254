"""The planning engine without ROS: deadlines, fallback chain, persistence, incidents."""

from dataclasses import dataclass
import json
import os
import threading
import time

import numpy as np
import pytest

from rag_planner.domain.answers import ErrorCode, Fallback, Source
from rag_planner.domain.plan_grammar import parse_plan, Step
from rag_planner.domain.robot_state import RobotState
from rag_planner.errors import NotUnderstood, StageError
from rag_planner.generation.runtime import Generation
from rag_planner.params import PlannerConfig
from rag_planner.planners.base import Planner, PlanResult
from rag_planner.serving import fallback
from rag_planner.serving.engine import PlanningEngine
from rag_planner.serving.faults import FaultInjector, FaultSpec, InjectedFault
from rag_planner.serving.incident_log import IncidentLog
from rag_planner.serving.last_known_safe import SafePlanStore
from rag_planner.serving.request import PlanRequestData

PICK = 'Pick 3 units of SKU-48213 from A12-03 and bring them to PACK-4.'
PICK_PLAN = ('NAVIGATE A12-03; SCAN A12-03; PICK SKU-48213 3; NAVIGATE PACK-4; PLACE PACK-4; '
             'REPORT DONE SKU-48213')
STATE = RobotState('r1', 'DOCK-1', 80.0, False, ())


@dataclass(frozen=True)
class FakeEncoded:
    vector: np.ndarray
    token_states: np.ndarray


class FakeEmbedder:
    def encode(self, text):
        return FakeEncoded(np.ones(4, np.float32), np.ones((2, 4), np.float32))


class FakeIndex:
    def query(self, vec, k=10):
        return [('lib-1', 0.9)]

    def __len__(self):
        return 1


class FakeGenerator:
    def __init__(self, steps):
        self.steps = steps

    def generate(self, *args, **kwargs):
        return Generation(steps=self.steps, confidence=0.9, n_tokens=3, generate_ms=0.1)


class StagedPlanner(Planner):
    """A generated path over fake stages, put behind the fault injector's real seam."""

    name = Source.GENERATED

    def __init__(self, faults, steps=None):
        steps = tuple(steps or parse_plan(PICK_PLAN))
        self.embedder = faults.wrap('embed', FakeEmbedder())
        self.index = faults.wrap('retrieve', FakeIndex())
        self.generator = faults.wrap('generate', FakeGenerator(steps))

    def plan(self, context):
        enc = self.embedder.encode(context.task)
        if not np.all(np.isfinite(enc.vector)):
            raise StageError('embed', 'embedding is not finite')
        ids = [i for i, _ in self.index.query(enc.vector, 3) if i == 'lib-1']
        if not ids:
            raise StageError('retrieve', 'no library entries among the neighbours')
        context.enter('generate')
        generation = self.generator.generate(context.task)
        return PlanResult(tuple(generation.steps), Source.GENERATED, tuple(ids), 0.9)


def engine(tmp_path=None, staged=False, steps=None, **overrides):
    cfg = PlannerConfig.from_dict(overrides)
    store = SafePlanStore(str(tmp_path / 'safe.json')) if tmp_path else None
    log = IncidentLog(str(tmp_path / 'incidents.jsonl')) if tmp_path else None
    faults = FaultInjector()
    primary = StagedPlanner(faults, steps) if staged else None
    return PlanningEngine(cfg, primary, store, log, faults=faults)


def ask(eng, task=PICK, state=STATE, deadline_ms=0.0):
    return eng.plan(PlanRequestData(task, state, deadline_ms, 'req'))


def test_rule_planner_primary_answers_exact_plan():
    eng = engine()
    out = ask(eng)
    assert out.success and out.source == 'rule_based' and not out.fallback_reason
    assert '; '.join(map(str, out.steps)).startswith('NAVIGATE A12-03; SCAN A12-03')
    assert out.slo_met and out.times.total_ms > 0
    eng.close()


@pytest.mark.parametrize('stage', ['embed', 'retrieve'])
def test_retrieval_hang_short_circuits_to_rule_planner(stage):
    eng = engine(staged=True, **{'fault.stage': stage, 'fault.mode': 'hang',
                                 'retrieval_timeout_ms': 40.0})
    start = time.monotonic()
    out = ask(eng)
    elapsed = (time.monotonic() - start) * 1000
    assert out.source == 'rule_based'
    assert 'retrieval exceeded' in out.fallback_reason
    assert out.fallback == Fallback.STAGE_TIMEOUT and out.chain
    assert 35 <= elapsed < 150
    eng.close()


def test_generation_hang_answers_before_deadline():
    eng = engine(staged=True, **{'fault.stage': 'generate', 'fault.mode': 'hang',
                                 'generate_budget_ms': 30.0})
    out = ask(eng)
    assert out.source == 'rule_based'
    assert 'generation exceeded' in out.fallback_reason
    assert out.fallback == Fallback.STAGE_TIMEOUT
    assert out.times.total_ms < 150
    assert len(eng.watchdog_lags_ms) == 1 and eng.counters.snapshot()['watchdog_answers'] == 1
    eng.close()


def test_stage_error_and_garbage_name_the_stage():
    eng = engine(staged=True, **{'fault.stage': 'embed', 'fault.mode': 'error'})
    out = ask(eng)
    assert out.source == 'rule_based' and 'InjectedFault' in out.fallback_reason
    assert out.fallback == Fallback.STAGE_ERROR
    eng.update_config(eng.config.with_value('fault.stage', 'generate')
                      .with_value('fault.mode', 'garbage'))
    out = ask(eng)
    assert out.source == 'rule_based' and 'plan rejected' in out.fallback_reason
    assert out.fallback == Fallback.INVALID_PLAN and out.success
    eng.update_config(eng.config.with_value('fault.stage', ''))
    assert ask(eng).source == 'generated'
    eng.close()


def test_invalid_generated_plan_never_leaves():
    bad = (Step('NAVIGATE', ('A12-03',)), Step('PICK', ('SKU-48213', '3')))
    eng = engine(staged=True, steps=bad)
    out = ask(eng)
    assert out.source == 'rule_based' and out.success
    assert 'plan rejected' in out.fallback_reason and 'rule 2' in out.fallback_reason
    assert out.fallback == Fallback.INVALID_PLAN
    eng.close()


def test_a_plan_that_leaves_out_what_the_task_names_is_not_the_answer():
    count = parse_plan('NAVIGATE A12-03; SCAN A12-03; SCAN SKU-48213; REPORT COUNT SKU-48213')
    eng = engine(staged=True, steps=count)   # valid, grounded, but it is not the pick
    out = ask(eng)
    assert out.source == 'rule_based' and '; '.join(map(str, out.steps)) == PICK_PLAN
    assert 'leaves out PACK-4' in out.fallback_reason
    eng.close()


def test_ungrounded_ids_and_numbers_are_not_the_answer():
    made_up = parse_plan(PICK_PLAN.replace('PICK SKU-48213 3', 'PICK SKU-48213 5'))
    eng = engine(staged=True, steps=made_up)
    out = ask(eng)
    assert '; '.join(map(str, out.steps)) == PICK_PLAN and 'rule 7' in out.fallback_reason
    eng.close()


def test_request_deadline_overrides_parameter():
    eng = engine(staged=True, **{'fault.stage': 'generate', 'fault.mode': 'hang'})
    out = ask(eng, deadline_ms=40.0)
    assert out.times.total_ms < 40.0 + 10.0
    assert out.deadline_ms == 40.0
    eng.close()


def test_last_known_safe_answers_only_a_retry_of_the_same_task(tmp_path, monkeypatch):
    eng = engine(tmp_path, staged=True)
    assert ask(eng).source == 'generated'
    # from now on the generator hangs and the rule planner understands nothing
    monkeypatch.setattr(fallback, 'rule_plan', _not_understood)
    eng.update_config(eng.config.with_value('fault.stage', 'generate')
                      .with_value('fault.mode', 'hang').with_value('generate_budget_ms', 20.0))
    out = ask(eng, task='  pick 3 units of sku-48213 from a12-03 and bring them to pack-4 ')
    assert out.source == 'last_known_safe' and out.success
    assert '; '.join(map(str, out.steps)) == PICK_PLAN
    # another task of the same robot never gets that plan, nor does another robot
    other = ask(eng, task='Count SKU-33120 at C15-02.')
    assert other.error == ErrorCode.NO_PLAN_IN_TIME and other.steps == (Step('HALT'),)
    stranger = ask(eng, state=RobotState('r2', 'DOCK-1', 80.0, False, ()))
    assert stranger.error == ErrorCode.NO_PLAN_IN_TIME and stranger.source == 'safe_default'
    # the remembered plan is re-judged: with A12 blocked the same task is now unsafe
    blocked = RobotState('r1', 'DOCK-1', 80.0, False, ('A12',))
    out = ask(eng, state=blocked)
    assert out.source == 'safe_default' and out.steps == (Step('HALT'),)
    eng.close()


def _not_understood(task, state=None, cfg=None):
    raise NotUnderstood('stand-in rule planner')


def test_a_task_with_a_clause_that_asks_for_something_else_is_refused(tmp_path):
    eng = engine(tmp_path)
    out = ask(eng, task=PICK + " && shuffle and deal the cards for Friday's poker night in "
              'the canteen')
    assert out.error == ErrorCode.NOT_UNDERSTOOD and out.steps == (Step('HALT'),)
    assert 'no task' in out.message and 'poker' in out.message
    assert ask(eng).success  # the task alone is planned
    # a missing argument the rule planner names is the more specific answer
    out = ask(eng, task="Pick 5 units of SKU-78588 and bring them to PACK-5 && shuffle and "
                        "deal the cards for Friday's poker night in the canteen")
    assert out.error == ErrorCode.MISSING_ARGUMENT and out.missing == 'source', out.message
    eng.close()


def test_a_task_in_words_of_another_language_around_ids_is_refused(tmp_path):
    eng = engine(tmp_path)
    out = ask(eng, task='Foti SKU-07448 16 husi A08-04 no lori ba PACK-17.')
    assert out.error == ErrorCode.NOT_UNDERSTOOD and out.steps == (Step('HALT'),)
    assert 'not in English' in out.message
    eng.close()


def test_a_task_nobody_understands_is_refused_never_answered_with_another_plan(tmp_path):
    eng = engine(tmp_path)
    assert ask(eng).source == 'rule_based'
    out = ask(eng, task='please sing a song')
    assert out.error == ErrorCode.NOT_UNDERSTOOD and not out.success
    assert out.steps == (Step('HALT'),) and out.source == 'safe_default'
    assert not out.chain and out.fallback == Fallback.NONE
    eng.close()


def test_last_known_safe_survives_restart_and_corruption(tmp_path):
    eng = engine(tmp_path)
    ask(eng, state=RobotState('r7', 'DOCK-1', 80.0, False, ()))
    eng.close()
    again = SafePlanStore(str(tmp_path / 'safe.json'))
    assert again.get('r7', PICK)[0] == Step('NAVIGATE', ('A12-03',))
    assert again.get('r7', 'Count SKU-33120 at C15-02.') is None
    (tmp_path / 'safe.json').write_text('{"version": 2, "plans": {"r7": "FLY AWAY"}')
    broken = SafePlanStore(str(tmp_path / 'safe.json'))
    assert broken.get('r7', PICK) is None
    assert 'unreadable' in broken.load_problem
    assert any(p.name.startswith('safe.json.unreadable') for p in tmp_path.iterdir())


def test_rejected_request_is_halt_with_reason():
    eng = engine()
    for task, state, why in [('', STATE, 'empty'), ('x' * 5000, STATE, 'max_task_chars'),
                             (PICK, RobotState('r1', 'DOCK-1', float('nan')), 'battery'),
                             (None, STATE, 'not text'), (PICK, 'garbage', 'RobotState')]:
        out = ask(eng, task=task, state=state)
        assert not out.success and out.steps == (Step('HALT'),)
        assert out.error == ErrorCode.INVALID_REQUEST
        assert why in out.message
    eng.close()


def test_incident_log_records_fallbacks_and_rotates(tmp_path):
    log = IncidentLog(str(tmp_path / 'inc.jsonl'), max_bytes=2000)
    eng = PlanningEngine(PlannerConfig.from_dict({}), None, None, log)
    for _ in range(20):
        ask(eng, task='do a barrel roll')
    eng.close()
    lines = (tmp_path / 'inc.jsonl').read_text().splitlines()
    record = json.loads(lines[-1])
    assert record['event'] == 'refusal' and record['source'] == 'safe_default'
    assert record['error_code'] == 'NOT_UNDERSTOOD'
    assert 'latency_ms' in record and record['plan'] == 'HALT'
    assert os.path.exists(tmp_path / 'inc.jsonl.1')


def test_stuck_worker_is_replaced_and_service_goes_on():
    eng = engine(staged=True, workers=1, deadline_ms=50.0,
                 **{'fault.stage': 'retrieve', 'fault.mode': 'hang'})
    outs = [ask(eng) for _ in range(3)]
    assert all(o.source == 'rule_based' for o in outs)
    deadline = time.monotonic() + 3.0
    while eng.counters.snapshot()['workers_replaced'] == 0 and time.monotonic() < deadline:
        ask(eng)
        time.sleep(0.05)
    assert eng.counters.snapshot()['workers_replaced'] >= 1
    eng.update_config(eng.config.with_value('fault.stage', ''))   # the hung stages return
    deadline = time.monotonic() + 3.0
    while eng.counters.snapshot()['stuck_now'] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert eng.counters.snapshot()['stuck_now'] == 0
    assert eng._pool.live() == 1
    assert ask(eng).source == 'generated'
    eng.close()


def test_many_concurrent_requests_all_answered_once():
    eng = engine(staged=True, **{'fault.stage': 'retrieve', 'fault.mode': 'delay',
                                 'fault.delay_ms': 5.0})
    answers = []
    lock = threading.Lock()
    done = threading.Event()
    n = 200

    def on_done(outcome):
        with lock:
            answers.append(outcome)
            if len(answers) == n:
                done.set()

    for i in range(n):
        eng.submit(PlanRequestData(PICK, STATE, 0.0, f'r{i}'), on_done)
    assert done.wait(10.0)
    time.sleep(0.2)
    assert len(answers) == n
    assert sorted(a.request_id for a in answers) == sorted(f'r{i}' for i in range(n))
    # more work than two workers can do in time: the rest is shed or answered by the watchdog
    assert all(a.source == 'generated' or a.fallback_reason for a in answers)
    eng.close()


def test_fault_injector_rejects_bad_spec_and_raises_on_error():
    faults = FaultInjector()
    with pytest.raises(ValueError):
        faults.set(FaultSpec('decode', 'hang'))
    faults.set(FaultSpec('embed', 'error'))
    with pytest.raises(InjectedFault):
        faults.hit('embed')
    assert faults.hit('retrieve') is False


def test_config_rejects_bad_values():
    for name, value in [('deadline_ms', -1.0), ('deadline_ms', float('nan')),
                        ('workers', 0), ('fault.mode', 'explode'), ('nope', 1),
                        ('top_k', 2.5), ('safety.max_pick_qty', 'many')]:
        with pytest.raises(ValueError):
            PlannerConfig.from_dict({name: value})


class RefusingPlanner(Planner):
    """A primary path that always refuses with ``refusal``."""

    name = Source.GENERATED

    def __init__(self, refusal):
        self.refusal = refusal

    def plan(self, context):
        raise self.refusal


def test_when_both_refuse_the_rule_planners_code_is_the_answer():
    from rag_planner.errors import MissingArgument
    eng = PlanningEngine(PlannerConfig.from_dict({}),
                         RefusingPlanner(MissingArgument('no bin here', 'bin')))
    out = ask(eng, task='purple elephants SKU-12345 SKU-12345')  # rule planner: not understood
    assert out.error == ErrorCode.NOT_UNDERSTOOD and out.missing == ''
    assert 'no bin here' in out.message                    # the other opinion, for people
    out = ask(eng, task='Pick 3 units of SKU-48213 from A12-03')  # rule planner: destination
    assert out.error == ErrorCode.MISSING_ARGUMENT and out.missing == 'destination'
    # a refusal the rule planner does not share: its plan is the answer
    out = ask(eng)
    assert out.success and '; '.join(map(str, out.steps)) == PICK_PLAN
    assert out.source == 'rule_based'
    eng.close()


class _NoRetriever:
    library: dict = {}


class _MustNotGenerate:
    uses_hint = True

    def generate(self, *args, **kwargs):
        raise AssertionError('the generator was asked although the rule planner refused')


def test_generated_planner_lets_the_rule_planners_missing_argument_win():
    from rag_planner.errors import MissingArgument
    from rag_planner.planners.base import PlanContext
    from rag_planner.planners.generated import GeneratedPlanner
    from rag_planner.domain.safety import SafetyConfig
    planner = GeneratedPlanner(_NoRetriever(), _MustNotGenerate())
    ctx = PlanContext('Replenish E25-11 with 2 units of SKU-94685.', STATE, SafetyConfig(),
                      PlannerConfig.from_dict({}))
    with pytest.raises(MissingArgument) as exc:
        planner.plan(ctx)
    assert exc.value.slot == 'source'


class FixedPlanner(Planner):
    """A learned path whose plan and rule view are fixed."""

    name = Source.GENERATED

    def __init__(self, steps, rule_steps):
        self.result = PlanResult(tuple(parse_plan(steps)), Source.GENERATED, ('lib-1',), 0.9,
                                 rule_steps=tuple(parse_plan(rule_steps)) if rule_steps else ())

    def plan(self, context):
        return self.result


def test_a_valid_learned_plan_that_differs_from_the_rule_plan_is_refused():
    other = PICK_PLAN + '; HALT'   # valid, grounded, covers the task: the validator passes it
    eng = PlanningEngine(PlannerConfig.from_dict({}), FixedPlanner(other, PICK_PLAN))
    out = ask(eng)
    assert out.error == ErrorCode.NOT_UNDERSTOOD and out.steps == (Step('HALT'),)
    assert 'do not agree' in out.message and out.source == Source.SAFE_DEFAULT
    assert eng.counters.snapshot()['disagreements'] == 1
    eng.close()
    # they agree: the learned plan is the answer, under its own name
    eng = PlanningEngine(PlannerConfig.from_dict({}), FixedPlanner(PICK_PLAN, PICK_PLAN))
    out = ask(eng)
    assert out.success and out.source == Source.GENERATED
    eng.close()


def test_an_invalid_plan_nobody_else_understands_is_not_understood_not_late():
    garbage = parse_plan('PICK SKU-00000 20; UNLOAD A01-01')
    eng = engine(staged=True, steps=garbage)
    out = ask(eng, task='please sing a song')
    assert out.error == ErrorCode.NOT_UNDERSTOOD and out.fallback == Fallback.INVALID_PLAN
    assert out.steps == (Step('HALT'),) and out.chain
    eng.close()
    # a stage that failed could not say: no plan in time
    eng = engine(staged=True)
    eng.faults.set(FaultSpec(stage='generate', mode='error'))
    out = ask(eng, task='please sing a song')
    assert out.error == ErrorCode.NO_PLAN_IN_TIME and out.steps == (Step('HALT'),)
    eng.close()


def test_a_request_taken_past_its_deadline_is_answered_at_once_and_counted():
    from rag_planner.domain.answers import Fallback
    from rag_planner.domain.robot_state import RobotState
    eng = PlanningEngine(PlannerConfig.from_dict({'pipeline': 'rule_based'}))
    try:
        late = PlanRequestData('Go charge at CHARGER-3.', RobotState('r1', 'DOCK-1', 80.0),
                               150.0, 'late', received=time.monotonic() - 0.4)
        out = eng.plan(late)
        assert out.fallback == Fallback.OVERLOAD and 'waited' in out.fallback_reason
        assert out.times.total_ms >= 400.0 and not out.slo_met
        assert eng.counters.snapshot()['late_on_arrival'] == 1
    finally:
        eng.close()


def test_generated_planner_refuses_what_the_rule_planner_does_not_understand():
    # alone, the generator's plans of such tasks were right about as often as wrong
    from rag_planner.planners.base import PlanContext
    from rag_planner.planners.generated import GeneratedPlanner
    from rag_planner.domain.safety import SafetyConfig
    planner = GeneratedPlanner(_NoRetriever(), _MustNotGenerate())
    ctx = PlanContext('The sprinkler above C19-12 gets fixed today, so say so.', STATE,
                      SafetyConfig(), PlannerConfig.from_dict({}))
    with pytest.raises(NotUnderstood):
        planner.plan(ctx)
