"""Run every case of config/safety_cases.yaml through rule_plan + validate_plan."""

import os

import pytest
import yaml

from rag_planner.domain.plan_grammar import format_plan, parse_plan
from rag_planner.domain.robot_state import RobotState
from rag_planner.planners.rule_based import NotUnderstood, rule_plan
from rag_planner.domain.safety import SAFE_PLAN, SafetyConfig, validate_plan

CASES_PATH = os.path.join(os.path.dirname(__file__), '..', 'config', 'safety_cases.yaml')
EXPECT_KEYS = {'understood', 'family', 'requested', 'plan', 'starts_with', 'valid',
               'violated_rules', 'not_contains'}


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
        assert set(c['expect']) <= EXPECT_KEYS, c['name']
        assert isinstance(c['task'], str)


def test_every_family_and_property_is_covered():
    fams = {c['expect'].get('family') for c in CASES} | {
        c['expect'].get('requested') for c in CASES}
    assert {'pick', 'replenish', 'putaway', 'transfer', 'count', 'charge', 'park', 'spill',
            'blocked', 'misscan', 'stop'} <= fams
    rules = {r for c in CASES for r in c['expect'].get('violated_rules', [])}
    assert {2, 3, 5} <= rules
    assert any(c['expect'].get('understood') is False for c in CASES)
    assert any(c.get('state', {}).get('battery_pct', 100) != c.get('state', {}).get(
        'battery_pct', 100) for c in CASES)  # a NaN battery case


@pytest.mark.parametrize('case', CASES, ids=[c['name'] for c in CASES])
def test_case(case):
    state = RobotState.from_dict(case.get('state') or {})
    cfg = SafetyConfig.from_dict(case.get('cfg') or {})
    exp = case['expect']
    if exp.get('understood', True) is False:
        with pytest.raises(NotUnderstood):
            rule_plan(case['task'], state, cfg)
        return
    rp = rule_plan(case['task'], state, cfg)
    steps = list(rp.steps)
    res = validate_plan(steps, state, cfg)
    if 'family' in exp:
        assert rp.family == exp['family']
    if 'requested' in exp:
        assert rp.requested_family == exp['requested']
    if 'plan' in exp:
        assert format_plan(steps) == exp['plan']
    if 'starts_with' in exp:
        prefix = parse_plan(exp['starts_with'])
        assert steps[:len(prefix)] == prefix
    if 'valid' in exp:
        assert res.ok is exp['valid'], res.violations
    for r in exp.get('violated_rules', []):
        assert r in res.rules, res.violations
    answer = format_plan(steps if res.ok else SAFE_PLAN)
    for s in exp.get('not_contains', []):
        assert s not in answer
