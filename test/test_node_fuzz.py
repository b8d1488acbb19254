"""
Property-based fuzzing of the request fields through the real service.

Whatever a client sends, the server answers (no crash, no hang), the answer
is either a refusal or rejection (an error code, the safe action and a reason)
or a plan that passes the validator against the state the server saw.
"""

import math

from conftest import NodeProcess
from hypothesis import given, HealthCheck, settings, strategies as st
import pytest
from rag_planner_interfaces.msg import RobotState
from rag_planner_interfaces.srv import GetPlan
from conftest import plan_text, Probe

from rag_planner.domain.plan_grammar import parse_plan
from rag_planner.domain.robot_state import check_state, RobotState as CoreState
from rag_planner.domain.safety import SafetyConfig, validate_plan

# ROS strings are C strings: no NUL, and rclpy encodes them as UTF-8 (no surrogates).
ros_text = st.text(alphabet=st.characters(blacklist_categories=('Cs',),
                                          blacklist_characters='\x00'), max_size=300)
words = st.sampled_from(['pick', 'Pick 3 units of', 'SKU-48213', 'from', 'A12-03', 'PACK-4',
                         'TOTE-55', 'charge', 'CHARGER-3', 'park', 'STAGING-2', 'spill',
                         'blocked', 'count', 'stop', 'twelve', 'to', 'and', 'DOCK-2', 'E07-14',
                         'EXCEPTION-1', 'wait', '!!', 'Z99-99', 'SKU-1', 'PACK-99'])
tasks = st.one_of(ros_text, st.lists(words, max_size=14).map(' '.join),
                  st.text(max_size=5).map(lambda t: t * 900))
locations = st.one_of(st.sampled_from(['', 'DOCK-1', 'A12-03', 'CHARGER-1', 'PACK-4',
                                       'nowhere', 'A99-99']), ros_text)
batteries = st.one_of(st.floats(width=32, allow_nan=True, allow_infinity=True),
                      st.floats(0, 100, width=32))
blocked = st.lists(st.one_of(st.sampled_from(['A12', 'PACK-4', 'C', '', 'CHARGER-1']),
                             ros_text), max_size=6)


@pytest.fixture(scope='module')
def fuzz_server(rclpy_context, tmp_path_factory):
    state = tmp_path_factory.mktemp('fuzz')
    server = NodeProcess('rag_planner.ros.plan_server',
                         ['-r', '__ns:=/t_fuzz', '-p', f'state_dir:={state}',
                          '-p', 'pipeline:=rule_based'], str(state / 'server.log'))
    probe = Probe(rclpy_context)
    yield probe, server
    probe.close()
    server.stop()


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(task=tasks, robot_id=st.one_of(st.just('robot_1'), ros_text), location=locations,
       battery=batteries, carrying=st.booleans(), blocked=blocked,
       deadline_ms=st.sampled_from([0, 1, 5, 50, 150, 100000]))
def test_any_request_gets_an_answer(fuzz_server, task, robot_id, location, battery, carrying,
                                    blocked, deadline_ms):
    probe, server = fuzz_server
    msg = RobotState(robot_id=robot_id, location=location, battery_pct=battery,
                     carrying=carrying, blocked=blocked)
    response = probe.call('/t_fuzz/rag_planner', task, msg, deadline_ms=deadline_ms,
                          timeout_s=10.0)
    assert server.proc.poll() is None, server.log()
    text = plan_text(response.plan)
    state = CoreState(robot_id, location, float(msg.battery_pct), carrying, tuple(blocked))
    assert response.success == (response.error_code == GetPlan.Response.NONE)
    if not response.success:  # a refusal or a rejection: the safe action, and why
        assert response.message
        if response.error_code == GetPlan.Response.INVALID_REQUEST or check_state(state):
            assert text == 'HALT'
        else:  # HALT, or the charge plan when the battery is low
            assert text in ('HALT', 'NAVIGATE CHARGER-1; CHARGE CHARGER-1'), text
        return
    assert not check_state(state), 'a bad state must be rejected'
    assert not math.isnan(msg.battery_pct)
    assert validate_plan(parse_plan(text), state, SafetyConfig()).ok, text
