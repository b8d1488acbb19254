"""Tests for rag_planner.domain.safety: every rule with a passing and a failing case."""

import math

from hypothesis import given, settings
from hypothesis import strategies as st
import pytest

from rag_planner.domain.entities import grounding_of
from rag_planner.domain.plan_grammar import parse_plan, Step
from rag_planner.domain.robot_state import RobotState
from rag_planner.domain.safety import (
    charge_plan, SAFE_PLAN, SafetyConfig, validate_plan, Validation)
from rag_planner.domain.task_families import EXAMPLES

CFG = SafetyConfig()
PICK = ('NAVIGATE A12-03; SCAN A12-03; PICK SKU-48213 3; NAVIGATE PACK-4; PLACE PACK-4; '
        'REPORT DONE SKU-48213')
OK = RobotState(robot_id='robot_7', location='STAGING-1', battery_pct=80.0)


def v(plan, state=OK, cfg=CFG):
    return validate_plan(plan if isinstance(plan, str) else list(plan), state, cfg)


def test_defaults_and_safe_plan():
    assert CFG == SafetyConfig(16, 20, 15.0, 'CHARGER-1')
    assert SAFE_PLAN == (Step('HALT'),)
    assert v(SAFE_PLAN).ok
    assert v(SAFE_PLAN, RobotState(battery_pct=1.0)).ok


@pytest.mark.parametrize('family', sorted(EXAMPLES))
def test_every_design_plan_is_valid(family):
    res = v(EXAMPLES[family][1])
    assert res.ok, res.violations
    assert isinstance(res, Validation) and bool(res) and res.rules == ()


def test_string_or_steps():
    assert v(parse_plan(EXAMPLES['pick'][1])).ok
    res = v('NAVIGATE A12-03; FLY')
    assert not res.ok and res.rules == (1,) and 'step 2' in res.violations[0]


# ---------------------------------------------------------------- rule 1
def test_rule1_empty_and_too_long():
    assert v([]).rules == (1,)
    assert v('').rules == (1,)
    long_plan = [Step('WAIT', ('1',))] * 17
    res = v(long_plan)
    assert not res.ok and 'max_steps=16' in res.violations[0]
    assert v(long_plan, cfg=SafetyConfig(max_steps=17)).ok


def test_rule1_bad_steps_named_with_index():
    res = v([Step('NAVIGATE', ('A12-03',)), Step('NAVIGATE', ('G99-99',)), Step('HALT', ('X',))])
    assert res.rules == (1,)
    assert res.violations[0].startswith('rule 1 at step 1 (NAVIGATE G99-99)')
    assert res.violations[1].startswith('rule 1 at step 2')
    assert v([Step('NAVIGATE', ('a12-03',))]).rules == (1,)
    assert v(['HALT']).rules == (1,)
    assert validate_plan(None, OK, CFG).rules == (1,)
    assert v([Step('HALT')], state='garbage').rules == (1,)


# ---------------------------------------------------------------- rule 2
def test_rule2_pick_right_after_scan_of_current_bin():
    good = 'NAVIGATE A12-03; SCAN A12-03; PICK SKU-48213 3'
    assert v(good).ok
    # robot already at the bin: no NAVIGATE needed
    assert v('SCAN A12-03; PICK SKU-48213 3', RobotState(location='A12-03')).ok
    assert v('SCAN A12-03; PICK SKU-48213 3', RobotState(location='a12-03')).ok


@pytest.mark.parametrize('plan,why', [
    ('NAVIGATE A12-03; PICK SKU-48213 3', 'not right after SCAN A12-03'),
    ('NAVIGATE A12-03; SCAN A12-03; SCAN SKU-48213; PICK SKU-48213 3', 'not right after'),
    ('NAVIGATE A12-03; SCAN B01-01; PICK SKU-48213 3', 'not right after SCAN A12-03'),
    ('SCAN A12-03; NAVIGATE A12-03; PICK SKU-48213 3', 'not right after'),
    ('NAVIGATE PACK-4; SCAN A12-03; PICK SKU-48213 3', 'not at a bin'),
    ('SCAN A12-03; PICK SKU-48213 3', 'location unknown'),
])
def test_rule2_failures(plan, why):
    state = RobotState() if 'unknown' in why else OK
    res = v(plan, state)
    assert res.rules == (2,), res.violations
    assert why in res.violations[0] and 'rule 2 at step' in res.violations[0]


@pytest.mark.parametrize('qty,ok', [(0, False), (1, True), (20, True), (21, False),
                                    (999, False)])
def test_rule2_quantity(qty, ok):
    res = v(f'NAVIGATE A12-03; SCAN A12-03; PICK SKU-48213 {qty}')
    assert res.ok is ok
    if not ok:
        assert 'quantity' in res.violations[0] and res.rules == (2,)


def test_rule2_max_pick_qty_configurable():
    plan = 'NAVIGATE A12-03; SCAN A12-03; PICK SKU-48213 30'
    assert not v(plan).ok
    assert v(plan, cfg=SafetyConfig(max_pick_qty=40)).ok


# ---------------------------------------------------------------- rule 3
def test_rule3_load_after_scan_not_carrying():
    assert v('NAVIGATE DOCK-2; SCAN TOTE-812; LOAD TOTE-812; NAVIGATE E07-14; '
             'UNLOAD E07-14').ok
    # carrying to start with: unload first, then a new load is fine
    carrying = RobotState(location='PACK-1', carrying=True)
    assert v('NAVIGATE PACK-2; UNLOAD PACK-2; SCAN TOTE-5; LOAD TOTE-5', carrying).ok


@pytest.mark.parametrize('plan,state,why', [
    ('NAVIGATE DOCK-2; LOAD TOTE-812', OK, 'not scanned'),
    ('NAVIGATE DOCK-2; SCAN TOTE-811; LOAD TOTE-812', OK, 'not scanned'),
    ('SCAN TOTE-812; NAVIGATE DOCK-2; LOAD TOTE-812', OK, 'not scanned'),
    ('NAVIGATE DOCK-2; SCAN TOTE-812; LOAD TOTE-812',
     RobotState(location='DOCK-1', carrying=True), 'already carrying'),
    ('NAVIGATE DOCK-2; SCAN TOTE-1; LOAD TOTE-1; SCAN TOTE-2; LOAD TOTE-2', OK,
     'already carrying'),
    ('NAVIGATE E07-14; UNLOAD E07-14', OK, 'not carrying'),
    ('NAVIGATE DOCK-2; SCAN TOTE-1; LOAD TOTE-1; UNLOAD E07-14; UNLOAD E07-14', OK,
     'not carrying'),
])
def test_rule3_failures(plan, state, why):
    res = v(plan, state)
    assert res.rules == (3,), res.violations
    assert any(why in x for x in res.violations)


def test_rule3_unknown_carrying_is_not_trusted():
    weird = RobotState(location='DOCK-2', carrying='yes')
    assert v('SCAN TOTE-1; LOAD TOTE-1', weird).rules == (3,)
    assert v('UNLOAD DOCK-2', weird).rules == (3,)


# ---------------------------------------------------------------- rule 4
def test_rule4_charge_only_at_that_charger():
    assert v('NAVIGATE CHARGER-3; CHARGE CHARGER-3').ok
    assert v('CHARGE CHARGER-3', RobotState(location='CHARGER-3')).ok
    assert v('CHARGE CHARGER-3', RobotState(location='charger-3')).ok
    res = v('NAVIGATE CHARGER-2; CHARGE CHARGER-3')
    assert res.rules == (4,) and 'at CHARGER-2, not at CHARGER-3' in res.violations[0]
    assert v('CHARGE CHARGER-3').rules == (4,)
    assert v('CHARGE CHARGER-3', RobotState()).rules == (4,)


# ---------------------------------------------------------------- rule 5
def test_rule5_blocked_prefixes():
    state = RobotState(location='STAGING-1', blocked=('C04', 'pack-2'))
    assert v('NAVIGATE C05-01; NAVIGATE PACK-3', state).ok
    res = v('NAVIGATE C04-11', state)
    assert res.rules == (5,) and "blocked prefix 'C04'" in res.violations[0]
    assert v('NAVIGATE PACK-2', state).rules == (5,)
    # plain prefix semantics (conservative): PACK-2 also covers PACK-20
    assert v('NAVIGATE PACK-20', state).rules == (5,)
    assert v('NAVIGATE c04-11'.upper(), RobotState(blocked=('c',))).rules == (5,)
    # only NAVIGATE is checked: reporting a blocked location is fine
    assert v('REPORT BLOCKED C04-11; NAVIGATE STAGING-3', state).ok


def test_rule5_ignores_empty_and_garbage_prefixes():
    state = RobotState(location='STAGING-1', blocked=('', '   ', None, 42, 'C0*', 'x' * 100))
    assert v(EXAMPLES['pick'][1], state).ok
    state2 = RobotState(blocked=(' c04 ', ''))
    assert v('NAVIGATE C04-01', state2).rules == (5,)
    assert v('NAVIGATE C05-01', state2).ok


def test_rule5_navigate_to_current_location_is_fine():
    assert v(EXAMPLES['charge'][1], RobotState(location='CHARGER-3')).ok


# ---------------------------------------------------------------- rule 6
LOW = RobotState(location='A01-01', battery_pct=10.0)


@pytest.mark.parametrize('plan', [
    'NAVIGATE CHARGER-1; CHARGE CHARGER-1', 'HALT', 'NAVIGATE CHARGER-7; CHARGE CHARGER-7',
    'NAVIGATE CHARGER-1; CHARGE CHARGER-1; NAVIGATE A12-03; SCAN A12-03; PICK SKU-48213 2',
])
def test_rule6_low_battery_allowed(plan):
    assert v(plan, LOW).ok


def test_rule6_charge_in_place():
    assert v('CHARGE CHARGER-2', RobotState(location='CHARGER-2', battery_pct=3)).ok


@pytest.mark.parametrize('plan', [
    EXAMPLES['pick'][1], EXAMPLES['park'][1], 'NAVIGATE CHARGER-1', 'WAIT 10; HALT',
    'REPORT LOW_BATTERY; NAVIGATE CHARGER-1; CHARGE CHARGER-1', 'HALT; HALT',
    'NAVIGATE CHARGER-1; WAIT 5; CHARGE CHARGER-1',
])
def test_rule6_low_battery_refused(plan):
    res = v(plan, LOW)
    assert 6 in res.rules and any(x.startswith('rule 6 at plan') for x in res.violations)


@pytest.mark.parametrize('battery', [float('nan'), float('inf') * -1, -5.0, 14.99, 0.0])
def test_rule6_bad_or_low_battery_values(battery):
    assert v(EXAMPLES['count'][1], RobotState(battery_pct=battery)).rules == (6,)


@pytest.mark.parametrize('battery', [15.0, 100.0, 150.0, float('inf')])
def test_rule6_not_low(battery):
    res = v(EXAMPLES['count'][1], RobotState(battery_pct=battery))
    assert (6 in res.rules) is (not math.isfinite(battery))


def test_rule6_threshold_configurable():
    state = RobotState(battery_pct=30.0)
    assert v(EXAMPLES['count'][1], state).ok
    assert not v(EXAMPLES['count'][1], state, SafetyConfig(min_battery_pct=40)).ok


def test_low_battery_and_blocked_charger():
    state = RobotState(battery_pct=5.0, blocked=('CHARGER-1',))
    assert v(charge_plan('CHARGER-1'), state).rules == (5,)
    assert v('HALT', state).ok


def test_several_rules_reported_together():
    res = v('NAVIGATE C04-01; PICK SKU-48213 50; UNLOAD PACK-1; CHARGE CHARGER-1',
            RobotState(battery_pct=5, blocked=('C04',)))
    assert res.rules == (2, 3, 4, 5, 6)
    assert len(res.violations) == 6
    assert validate_plan('HALT', RobotState()).ok
    assert not validate_plan('UNLOAD PACK-1', RobotState()).ok


# ---------------------------------------------------------------- config
def test_config_from_dict():
    assert SafetyConfig.from_dict(None) == CFG
    assert SafetyConfig.from_dict({}) == CFG
    c = SafetyConfig.from_dict({'max_steps': 8, 'min_battery_pct': 20,
                                'default_charger': 'charger-4'})
    assert c.max_steps == 8 and c.min_battery_pct == 20.0 and c.default_charger == 'CHARGER-4'
    assert SafetyConfig.from_dict(c.to_dict()) == c


@pytest.mark.parametrize('d', [
    {'max_step': 8}, {'max_steps': 0}, {'max_steps': 8.5}, {'max_steps': True},
    {'max_steps': '16'}, {'max_pick_qty': -1}, {'max_pick_qty': 5000},
    {'min_battery_pct': float('nan')}, {'min_battery_pct': 101}, {'min_battery_pct': 'low'},
    {'default_charger': 'PACK-1'}, {'default_charger': 'CHARGER-30'}, {'default_charger': 3},
    [('max_steps', 3)], 'max_steps=3',
])
def test_config_rejects_bad(d):
    with pytest.raises(ValueError):
        SafetyConfig.from_dict(d)


# ---------------------------------------------------------------- property tests

_LOCS = ['A12-03', 'C04-01', 'C04-11', 'PACK-2', 'PACK-20', 'CHARGER-1', 'CHARGER-3',
         'STAGING-1', 'DOCK-2']
_STEP = st.one_of(
    st.sampled_from(_LOCS).map(lambda x: Step('NAVIGATE', (x,))),
    st.sampled_from(['A12-03', 'C04-01', 'TOTE-5', 'SKU-48213']).map(lambda x: Step('SCAN', (x,))),
    st.integers(0, 30).map(lambda q: Step('PICK', ('SKU-48213', str(q)))),
    st.just(Step('LOAD', ('TOTE-5',))),
    st.sampled_from(_LOCS).map(lambda x: Step('UNLOAD', (x,))),
    st.sampled_from(['CHARGER-1', 'CHARGER-3']).map(lambda x: Step('CHARGE', (x,))),
    st.just(Step('HALT')),
    st.just(Step('WAIT', ('0',))),  # grammar error on purpose
    st.just(Step('REPORT', ('DONE',))),
)
_STATE = st.builds(
    RobotState, robot_id=st.just('r'), location=st.sampled_from(_LOCS + ['', 'junk']),
    battery_pct=st.floats(allow_nan=True, allow_infinity=True),
    carrying=st.booleans(),
    blocked=st.lists(st.sampled_from(['C04', 'pack-2', '', ' ', 'CHARGER-3', None]),
                     max_size=3).map(tuple))


@settings(max_examples=500, deadline=None)
@given(st.lists(_STEP, max_size=18), _STATE)
def test_validator_properties(steps, state):
    res = validate_plan(steps, state, CFG)
    assert res.ok == (not res.violations) == (not res.rules)
    assert all(x.startswith(f'rule {r}') for x in res.violations for r in [int(x.split()[1])])
    if not res.ok:
        return
    blocked = [p.strip().upper() for p in state.blocked if isinstance(p, str) and p.strip()]
    for s in steps:
        assert s.action != 'NAVIGATE' or not any(s.args[0].startswith(p) for p in blocked)
    assert 1 <= len(steps) <= CFG.max_steps
    if not (state.battery_pct >= CFG.min_battery_pct):
        assert steps == [Step('HALT')] or steps[0].action == 'CHARGE' or (
            steps[0].action == 'NAVIGATE' and steps[1] == Step('CHARGE', steps[0].args))
    carrying = state.carrying
    for i, s in enumerate(steps):
        if s.action == 'PICK':
            assert i > 0 and steps[i - 1].action == 'SCAN' and 1 <= int(s.args[1]) <= 20
        if s.action == 'LOAD':
            assert not carrying
            carrying = True
        if s.action == 'UNLOAD':
            assert carrying
            carrying = False


# ---------------------------------------------------------------- rule 7 (grounding), rule 8
def test_rule7_ids_and_numbers_must_come_from_task_state_or_config():
    task = 'Pick 3 units of SKU-48213 from A12-03 and bring them to PACK-4.'
    state = RobotState(location='DOCK-1')
    g = grounding_of(task, state, SafetyConfig())
    assert validate_plan(PICK, state, grounding=g).ok
    made_up = PICK.replace('PACK-4', 'PACK-5')
    res = validate_plan(made_up, state, grounding=g)
    assert res.rules == (7,) and 'PACK-5' in res.violations[0]
    wrong_qty = PICK.replace('PICK SKU-48213 3', 'PICK SKU-48213 5')
    assert validate_plan(wrong_qty, state, grounding=g).rules == (7,)
    # the default charger is given, the spill wait too; the robot's location only when
    # the task refers to it (else a plan that names where the robot stands is a guess)
    assert validate_plan('NAVIGATE DOCK-1; HALT', state, grounding=g).rules == (7,)
    here = grounding_of('Charge here.', RobotState(location='CHARGER-4'), SafetyConfig())
    assert validate_plan('NAVIGATE CHARGER-4; CHARGE CHARGER-4', RobotState(location='CHARGER-4'),
                         grounding=here).ok
    assert validate_plan('NAVIGATE CHARGER-1; CHARGE CHARGER-1', state, grounding=g).ok
    assert validate_plan('WAIT 60', state, grounding=g).ok
    assert validate_plan('WAIT 61', state, grounding=g).rules == (7,)
    # without a grounding rule 7 is not checked
    assert validate_plan(made_up, state).ok


def test_rule7_a_pick_quantity_comes_from_the_task_only():
    # the spill wait (60) grounds a WAIT, never how many units to take
    task = 'Move SKU-10077 from reserve B30-11 to forward bin B02-05.'
    g = grounding_of(task, RobotState(), SafetyConfig(max_pick_qty=99))
    plan = ('NAVIGATE B30-11; SCAN B30-11; PICK SKU-10077 60; NAVIGATE B02-05; SCAN B02-05; '
            'PLACE B02-05; REPORT DONE SKU-10077')
    assert validate_plan(plan, RobotState(), SafetyConfig(max_pick_qty=99),
                         grounding=g).rules == (7,)
    assert validate_plan('WAIT 60', RobotState(), grounding=g).ok


def test_rule7_a_decimal_is_not_two_numbers():
    g = grounding_of('Pick 3.5 units of SKU-48213 from A12-03 to PACK-4', RobotState())
    for qty in ('3', '5'):
        plan = PICK.replace('PICK SKU-48213 3', f'PICK SKU-48213 {qty}')
        assert 7 in validate_plan(plan, RobotState(), grounding=g).rules


def test_rule8_no_place_where_the_units_were_picked():
    noop = ('NAVIGATE E25-11; SCAN E25-11; PICK SKU-94685 2; NAVIGATE E25-11; SCAN E25-11; '
            'PLACE E25-11; REPORT DONE SKU-94685')
    res = validate_plan(noop, RobotState())
    assert res.rules == (8,) and 'E25-11' in res.violations[0]
    tote = ('NAVIGATE PACK-1; SCAN TOTE-55; LOAD TOTE-55; NAVIGATE PACK-1; UNLOAD PACK-1; '
            'REPORT DONE TOTE-55')
    assert validate_plan(tote, RobotState()).rules == (8,)
    assert validate_plan(PICK, RobotState()).ok


def test_violations_say_whether_the_plan_or_the_state_is_at_fault():
    blocked = validate_plan(PICK, RobotState(blocked=('A12',)))
    assert blocked.state_only and blocked.details[0].subject == 'A12-03'
    too_many = validate_plan(PICK.replace('PICK SKU-48213 3', 'PICK SKU-48213 25'), RobotState())
    assert too_many.state_only and too_many.rules == (2,)
    out_of_order = validate_plan('NAVIGATE A12-03; PICK SKU-48213 3', RobotState())
    assert not out_of_order.state_only and out_of_order.details[0].kind == 'plan'
    carrying = validate_plan('NAVIGATE DOCK-2; SCAN TOTE-812; LOAD TOTE-812; NAVIGATE E07-14; '
                             'UNLOAD E07-14', RobotState(carrying=True))
    assert carrying.state_only and carrying.rules == (3,)
