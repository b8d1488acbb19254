"""Every case of config/safety_cases.yaml: what the rule planner's server answers."""

import os

import pytest
import yaml

from rag_planner.domain.answers import ErrorCode
from rag_planner.domain.robot_state import RobotState
from rag_planner.params import PlannerConfig
from rag_planner.serving.engine import PlanningEngine
from rag_planner.serving.request import PlanRequestData
from rag_planner.serving.selftest import check_answer, EXPECT_KEYS, run_selftest, safety_cases

CASES_PATH = os.path.join(os.path.dirname(__file__), '..', 'config', 'safety_cases.yaml')


def _load():
    with open(CASES_PATH) as f:
        return yaml.safe_load(f)


CASES = _load()


def test_file_shape():
    assert isinstance(CASES, list) and len(CASES) >= 30
    names = [c['name'] for c in CASES]
    assert len(names) == len(set(names))
    for c in CASES:
        assert set(c) <= {'name', 'task', 'state', 'cfg', 'expect'}, c['name']
        assert set(c['expect']) <= EXPECT_KEYS and c['expect'], c['name']
        assert isinstance(c['task'], str)
        ErrorCode[c['expect'].get('code', 'NONE')]


def test_every_code_and_unsafe_rule_is_covered():
    codes = {c['expect'].get('code', 'NONE') for c in CASES}
    assert {'NONE', 'INVALID_REQUEST', 'NOT_UNDERSTOOD', 'MISSING_ARGUMENT',
            'UNSAFE_TASK'} <= codes
    rules = {c['expect'].get('rule') for c in CASES}
    assert {2, 3, 5, 6} <= rules


@pytest.fixture(scope='module')
def engines():
    made = {}

    def engine(cfg: dict) -> PlanningEngine:
        key = tuple(sorted(cfg.items()))
        if key not in made:
            made[key] = PlanningEngine(PlannerConfig.from_dict(
                {f'safety.{k}': v for k, v in cfg.items()}))
        return made[key]
    yield engine
    for e in made.values():
        e.close()


@pytest.mark.parametrize('case', CASES, ids=[c['name'] for c in CASES])
def test_case(case, engines):
    state = RobotState.from_dict(case.get('state') or {})
    out = engines(case.get('cfg') or {}).plan(PlanRequestData(case['task'], state, 0.0,
                                                              case['name']))
    code = ErrorCode[case['expect'].get('code', 'NONE')]
    assert out.success == (code == ErrorCode.NONE)
    assert check_answer(case, out) == []


def test_check_answer_names_what_differs(engines):
    case = next(c for c in CASES if c['expect'].get('rule'))
    state = RobotState.from_dict(case.get('state') or {})
    out = engines(case.get('cfg') or {}).plan(PlanRequestData(case['task'], state))
    assert check_answer(case, out) == []
    wrong = dict(case, expect=dict(case['expect'], code='NONE', rule=99))
    problems = check_answer(wrong, out)
    assert any(p.startswith('code UNSAFE_TASK, expected NONE') for p in problems)
    assert any('rule 99' in p for p in problems)


def test_the_shipped_cases_pass_the_self_test_of_the_rule_planner():
    report = run_selftest(None, safety_cases())
    assert report.ok and report.total == len(CASES), report.summary()
