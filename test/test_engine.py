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
from rag_planner.errors import StageError
from rag_planner.generation.runtime import Generation
from rag_planner.params import PlannerConfig
from rag_planner.planners.base import Planner, PlanResult
from rag_planner.serving.engine import PlanningEngine
from rag_planner.serving.faults import FaultInjector, FaultSpec, InjectedFault
from rag_planner.serving.incident_log import IncidentLog
from rag_planner.serving.last_known_safe import SafePlanStore
from rag_planner.serving.request import PlanRequestData

PICK = 'Pick 3 units of SKU-48213 from A12-03 and bring them to PACK-4.'
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
        steps = tuple(steps or parse_plan('NAVIGATE CHARGER-2; CHARGE CHARGER-2'))
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
    assert out.source == 'rule_based' and 'failed validation' in out.fallback_reason
    assert out.fallback == Fallback.INVALID_PLAN
    eng.update_config(eng.config.with_value('fault.stage', ''))
    assert ask(eng).source == 'generated'
    eng.close()


def test_invalid_generated_plan_never_leaves():
    bad = (Step('NAVIGATE', ('A12-03',)), Step('PICK', ('SKU-48213', '3')))
    eng = engine(staged=True, steps=bad)
    out = ask(eng)
    assert out.source == 'rule_based'
    assert 'failed validation' in out.fallback_reason
    eng.close()


def test_request_deadline_overrides_parameter():
    eng = engine(staged=True, **{'fault.stage': 'generate', 'fault.mode': 'hang'})
    out = ask(eng, deadline_ms=40.0)
    assert out.times.total_ms < 40.0 + 10.0
    assert out.deadline_ms == 40.0
    eng.close()


def test_chain_goes_to_last_known_safe_then_halt(tmp_path):
    eng = engine(tmp_path)
    assert ask(eng).source == 'rule_based'
    out = ask(eng, task='please sing a song')
    assert out.source == 'last_known_safe'
    assert out.steps[0] == Step('NAVIGATE', ('A12-03',))
    # the remembered plan is re-validated: with A12 blocked it is not safe any more
    blocked = RobotState('r1', 'DOCK-1', 80.0, False, ('A12',))
    out = ask(eng, task='please sing a song', state=blocked)
    assert out.source == 'safe_default' and out.steps == (Step('HALT'),)
    eng.close()


def test_last_known_safe_survives_restart_and_corruption(tmp_path):
    eng = engine(tmp_path)
    ask(eng, state=RobotState('r7', 'DOCK-1', 80.0, False, ()))
    eng.close()
    again = SafePlanStore(str(tmp_path / 'safe.json'))
    assert again.get('r7')[0] == Step('NAVIGATE', ('A12-03',))
    (tmp_path / 'safe.json').write_text('{"version": 1, "plans": {"r7": "FLY AWAY"}')
    broken = SafePlanStore(str(tmp_path / 'safe.json'))
    assert broken.get('r7') is None
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
    assert record['event'] == 'fallback' and record['source'] == 'safe_default'
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
