"""The plan skeleton cache: a repeated wording skips embedding and generation, safely."""

import pytest

from rag_planner.domain.plan_grammar import format_plan, parse_plan
from rag_planner.domain.robot_state import RobotState
from rag_planner.planners.skeleton_cache import core_text, skeleton_key, SkeletonCache

STATE = RobotState('robot_7', 'DOCK-1', 80.0, False, ())
PICK = 'Pick 3 units of SKU-48213 from A12-03 and bring them to PACK-4.'
PICK_PLAN = ('NAVIGATE A12-03; SCAN A12-03; PICK SKU-48213 3; NAVIGATE PACK-4; PLACE PACK-4; '
             'REPORT DONE SKU-48213')


def test_a_skeleton_is_filled_from_the_new_task_ids():
    cache = SkeletonCache(16)
    assert cache.put(PICK, STATE, 'CHARGER-1', parse_plan(PICK_PLAN), 0.9)
    steps, conf = cache.get('Pick 7 units of SKU-10077 from B02-05 and bring them to PACK-2.',
                            STATE, 'CHARGER-1')
    assert format_plan(steps) == ('NAVIGATE B02-05; SCAN B02-05; PICK SKU-10077 7; NAVIGATE '
                                  'PACK-2; PLACE PACK-2; REPORT DONE SKU-10077')
    assert conf == 0.9 and cache.stats()['hits'] == 1


def test_location_charger_and_constants_are_pointers_too():
    cache = SkeletonCache(16)
    cache.put('Go charge here.', RobotState('r', 'CHARGER-4', 9.0, False, ()), 'CHARGER-1',
              parse_plan('NAVIGATE CHARGER-4; CHARGE CHARGER-4'))
    steps, _ = cache.get('go charge here', RobotState('r', 'CHARGER-9', 9.0, False, ()),
                         'CHARGER-1')
    assert format_plan(steps) == 'NAVIGATE CHARGER-9; CHARGE CHARGER-9'
    cache.put('Spill at D09-07, report it and wait at STAGING-1.', STATE, 'CHARGER-1',
              parse_plan('REPORT SPILL D09-07; NAVIGATE STAGING-1; WAIT 60'))
    steps, _ = cache.get('Spill at A01-02, report it and wait at STAGING-8.', STATE,
                         'CHARGER-1')
    assert format_plan(steps) == 'REPORT SPILL A01-02; NAVIGATE STAGING-8; WAIT 60'


@pytest.mark.parametrize('task,state', [
    ('Pick 3 units of SKU-48213 from A12-03, then bring them to PACK-4.', STATE),   # wording
    (PICK, RobotState('robot_7', 'DOCK-1', 80.0, True, ())),                       # carrying
    ('Pick 3 units of TOTE-48 from A12-03 and bring them to PACK-4.', STATE),      # kinds
])
def test_another_wording_state_or_shape_of_ids_misses(task, state):
    cache = SkeletonCache(16)
    cache.put(PICK, STATE, 'CHARGER-1', parse_plan(PICK_PLAN))
    assert cache.get(task, state, 'CHARGER-1') is None
    assert cache.stats()['misses'] == 1


def test_capacity_bounds_it_and_zero_turns_it_off():
    cache = SkeletonCache(2)
    for i in range(1, 6):
        cache.put(f'Go to STAGING-{i} and park, reason {"x" * i}.', STATE, 'CHARGER-1',
                  parse_plan(f'NAVIGATE STAGING-{i}; HALT'))
    assert cache.stats()['size'] == 2
    off = SkeletonCache(0)
    assert not off.put(PICK, STATE, 'CHARGER-1', parse_plan(PICK_PLAN))
    assert off.get(PICK, STATE, 'CHARGER-1') is None
    with pytest.raises(ValueError):
        SkeletonCache(-1)


@pytest.mark.parametrize('task', [
    'Hi robot, pick 7 units of SKU-10077 from B02-05 and bring them to PACK-2 thx.',
    'Robot 7, pick 7 units of SKU-10077 from B02-05 and bring them to PACK-2 - urgent',
    'Quick one: pick 7 units of sku 10077 from b02-05 and bring them to pack 2 (high priority)',
    'Next task: please pick 7 units of SKU-10077 from B02-05 and bring them to PACK-2 for '
    'robot 7',
])
def test_greetings_and_courtesies_at_the_ends_do_not_change_the_key(task):
    # "robot 7" and "quick one" are numbers the candidates would count: they come off too
    cache = SkeletonCache(16)
    cache.put(PICK, STATE, 'CHARGER-1', parse_plan(PICK_PLAN))
    steps, _ = cache.get(task, STATE, 'CHARGER-1')
    assert format_plan(steps) == ('NAVIGATE B02-05; SCAN B02-05; PICK SKU-10077 7; NAVIGATE '
                                  'PACK-2; PLACE PACK-2; REPORT DONE SKU-10077')


def test_only_the_ends_come_off_and_never_everything():
    assert core_text('Hey, please stop now, robot 7.') == 'stop'
    assert core_text('Thanks') == 'Thanks' and core_text('please please') == 'please please'
    # courtesy words inside the task stay: they are part of its wording
    inner = 'Pick 3 units of SKU-48213 please from A12-03 and bring them to PACK-4'
    assert core_text(inner) == inner
    assert skeleton_key('Go to STAGING-3 and wait') != skeleton_key('Go to STAGING-3')
    assert skeleton_key('Robotics bay: go to STAGING-3') == \
        'robotics bay go to <staging>'  # "robot" only as a word of its own


def test_an_argument_with_two_sources_is_not_stored():
    # the robot's location is named in the task as well: which one is meant is unknown
    here = RobotState('r', 'CHARGER-4', 9.0, False, ())
    cache = SkeletonCache(16)
    assert not cache.put('Charge at CHARGER-4.', here, 'CHARGER-1',
                         parse_plan('NAVIGATE CHARGER-4; CHARGE CHARGER-4'))
    assert cache.put('Charge at CHARGER-4.', STATE, 'CHARGER-1',
                     parse_plan('NAVIGATE CHARGER-4; CHARGE CHARGER-4'))
