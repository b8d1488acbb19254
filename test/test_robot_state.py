"""Tests for rag_planner.domain.robot_state."""

import math

import pytest

from rag_planner.domain.robot_state import (
    battery_is_low, blocked_prefixes, blocking_prefix, check_state, normalize_prefix,
    RobotState, sanitize_state)


def test_defaults_are_fine():
    assert check_state(RobotState()) == []
    good = RobotState('robot_7', 'A12-03', 55.5, True, ('C04', 'PACK-2'))
    assert check_state(good) == []
    assert check_state(RobotState(location='charger-3')) == []


def test_list_blocked_coerced_to_tuple():
    s = RobotState(blocked=['C04'])
    assert s.blocked == ('C04',)
    hash(s)


@pytest.mark.parametrize('battery,msg', [
    (float('nan'), 'not finite'), (float('inf'), 'not finite'), (-1.0, 'outside 0..100'),
    (100.5, 'outside 0..100'), ('50', 'not a number'), (None, 'not a number'),
    (True, 'not a number'),
])
def test_bad_battery(battery, msg):
    problems = check_state(RobotState(battery_pct=battery))
    assert len(problems) == 1 and msg in problems[0]


@pytest.mark.parametrize('battery', [0.0, 0, 100, 100.0, 14.9])
def test_good_battery(battery):
    assert check_state(RobotState(battery_pct=battery)) == []


@pytest.mark.parametrize('loc,msg', [
    ('x' * 10240, 'longer than'), ('Z99-99', 'not a well-formed'), ('PACK 4', 'not a well'),
    ('A12-03; HALT', 'not a well'), (5, 'not a string'), (None, 'not a string'),
])
def test_bad_location(loc, msg):
    problems = check_state(RobotState(location=loc))
    assert len(problems) == 1 and msg in problems[0]


def test_huge_location_is_cheap_and_sanitised():
    s = RobotState(location='A' * 10240)
    assert sanitize_state(s).location == ''


@pytest.mark.parametrize('blocked,n', [
    (('',), 1), (('   ',), 1), ((None,), 1), ((42,), 1), (('C0*',), 1), (('a b',), 1),
    (('x' * 100,), 1), (('-C04',), 1), (('C04', '', 'PACK-2', None), 2),
    (tuple(f'C{i:02d}' for i in range(70)), 1),
])
def test_garbage_blocked(blocked, n):
    problems = check_state(RobotState(blocked=blocked))
    assert len(problems) == n, problems


def test_blocked_not_a_list():
    s = RobotState(blocked=5)  # not iterable: coerced to ()
    assert s.blocked == ()
    s2 = RobotState()
    object.__setattr__(s2, 'blocked', 'C04')
    assert any('not a list' in p for p in check_state(s2))
    assert blocked_prefixes(s2) == ()


def test_robot_id_checks():
    assert check_state(RobotState(robot_id='robot_7/ns-1.a')) == []
    assert 'longer' in check_state(RobotState(robot_id='r' * 65))[0]
    assert 'characters' in check_state(RobotState(robot_id='robot 7; rm -rf'))[0]
    assert 'not a string' in check_state(RobotState(robot_id=7))[0]


def test_carrying_must_be_bool():
    assert 'carrying' in check_state(RobotState(carrying='yes'))[0]
    assert sanitize_state(RobotState(carrying='yes')).carrying is True
    assert sanitize_state(RobotState(carrying=0)).carrying is False


def test_not_a_state():
    assert check_state({'location': 'A12-03'}) != []


def test_prefix_helpers():
    assert normalize_prefix(' c04 ') == 'C04'
    assert normalize_prefix('') is None and normalize_prefix(None) is None
    st = RobotState(blocked=('', 'c04', 'C04', 'PACK-2', '*'))
    assert blocked_prefixes(st) == ('C04', 'PACK-2')
    assert blocking_prefix('C04-01', st) == 'C04'
    assert blocking_prefix('c04-01', st) == 'C04'
    assert blocking_prefix('PACK-20', st) == 'PACK-2'
    assert blocking_prefix('C05-01', st) is None
    assert blocking_prefix('anything', RobotState(blocked=('',))) is None


def test_battery_is_low():
    assert battery_is_low(RobotState(battery_pct=14.9), 15)
    assert not battery_is_low(RobotState(battery_pct=15), 15)
    assert battery_is_low(RobotState(battery_pct=float('nan')), 15)
    assert battery_is_low(RobotState(battery_pct='80'), 15)
    assert battery_is_low(RobotState(battery_pct=None), 15)


def test_sanitize_state():
    bad = RobotState(robot_id='x y', location=' a12-03 ', battery_pct=float('nan'),
                     carrying=False, blocked=('', 'c04', None))
    s = sanitize_state(bad)
    assert s == RobotState('', 'A12-03', 0.0, False, ('C04',))
    assert check_state(s) == []
    assert sanitize_state(RobotState(battery_pct=250)).battery_pct == 100.0
    assert sanitize_state(RobotState(battery_pct=-3)).battery_pct == 0.0
    assert not math.isnan(sanitize_state(RobotState(battery_pct=float('nan'))).battery_pct)


def test_from_dict_and_to_dict():
    d = {'robot_id': 'r7', 'location': 'PACK-1', 'battery_pct': '42', 'carrying': True,
         'blocked': 'C04'}
    s = RobotState.from_dict(d)
    assert s == RobotState('r7', 'PACK-1', 42.0, True, ('C04',))
    assert RobotState.from_dict(s.to_dict()) == s
    assert RobotState.from_dict(None) == RobotState()
    assert RobotState.from_dict({'blocked': None, 'location': None}) == RobotState()
    with pytest.raises(ValueError, match='unknown'):
        RobotState.from_dict({'batery': 5})
    with pytest.raises(ValueError, match='not a number'):
        RobotState.from_dict({'battery_pct': 'full'})
    with pytest.raises(ValueError):
        RobotState.from_dict(['x'])
