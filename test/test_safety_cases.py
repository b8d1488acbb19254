"""Every case of config/safety_cases.yaml: what the rule planner's server answers."""

import os

import pytest
import yaml

from rag_planner.domain.answers import ErrorCode
from rag_planner.domain.plan_grammar import format_plan, parse_plan
from rag_planner.domain.robot_state import RobotState
from rag_planner.domain.safety import SafetyConfig, validate_plan
from rag_planner.params import PlannerConfig
from rag_planner.serving.engine import PlanningEngine
from rag_planner.serving.request import PlanRequestData

CASES_PATH = os.path.join(os.path.dirname(__file__), '..', 'config', 'safety_cases.yaml')
EXPECT_KEYS = {'code', 'plan', 'starts_with', 'not_contains', 'rule', 'slot'}


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
    cfg = case.get('cfg') or {}
    out = engines(cfg).plan(PlanRequestData(case['task'], state, 0.0, case['name']))
    exp = case['expect']
    code = ErrorCode[exp.get('code', 'NONE')]
    answer = format_plan(out.steps)
    assert out.error == code, (answer, out.message)
    assert out.success == (code == ErrorCode.NONE)
    if 'plan' in exp:
        assert answer == exp['plan'], out.message
    if 'starts_with' in exp:
        assert answer.startswith(exp['starts_with']), answer
    for bad in exp.get('not_contains', []):
        assert bad not in answer, answer
    if 'rule' in exp:
        assert f'rule {exp["rule"]}' in out.message, out.message
    if 'slot' in exp:
        assert exp['slot'] in out.message, out.message
    if code != ErrorCode.INVALID_REQUEST:  # the answer itself is valid in the robot's state
        safety = SafetyConfig.from_dict(cfg)
        assert validate_plan(parse_plan(answer), state, safety).ok, out.message
