"""
The plan server as a managed node over DDS (issue 12, item 1).

Every transition through the lifecycle services, INACTIVE answers on the service
and the topic while not active, parameters locked once configured and applied
at the next configure, and a configure that fails says why.
"""

import threading
import time

from diagnostic_msgs.msg import DiagnosticStatus
from lifecycle_msgs.msg import Transition
from lifecycle_msgs.srv import ChangeState, GetState
from rag_planner_interfaces.msg import PlanEvent, PlanRequest, PlanResult
from rag_planner_interfaces.srv import GetPlan

from conftest import PICK_PLAN, PICK_TASK, plan_text, state, wait_until

INACTIVE = GetPlan.Response.INACTIVE
BIG = 'Pick 15 units of SKU-48213 from A12-03 and bring them to PACK-4.'


class Lifecycle:
    """The lifecycle services of one planner, called from the probe."""

    def __init__(self, probe, node: str):
        self._change = probe.ready(probe.client(ChangeState, f'{node}/change_state'))
        self._get = probe.ready(probe.client(GetState, f'{node}/get_state'))

    @staticmethod
    def _wait(future, timeout_s: float = 30.0):
        done = threading.Event()
        future.add_done_callback(lambda _: done.set())
        assert done.wait(timeout_s), 'no answer from the lifecycle service'
        return future.result()

    def state(self) -> str:
        return self._wait(self._get.call_async(GetState.Request())).current_state.label

    def change(self, transition_id: int) -> bool:
        request = ChangeState.Request(transition=Transition(id=transition_id))
        return self._wait(self._change.call_async(request)).success


def test_every_transition_and_inactive_answers(start_planner, probe):
    server = start_planner('/t_life', '-p', 'autostart:=false')
    node = '/t_life/rag_planner'
    life = Lifecycle(probe, node)
    events = probe.listen(PlanEvent, f'{node}/events')
    beats = probe.listen(DiagnosticStatus, f'{node}/heartbeat')
    assert life.state() == 'unconfigured'
    assert wait_until(lambda: beats, 10.0)
    assert {v.key: v.value for v in beats[-1].values}['state'] == 'unconfigured'

    out = probe.call(node, PICK_TASK, state())
    assert out.error_code == INACTIVE and not out.success
    assert plan_text(out.plan) == 'HALT' and 'unconfigured' in out.message
    assert wait_until(lambda: any(e.error_code == INACTIVE for e in events), 5.0)

    # unconfigured: a locked limit may change, and the next configure applies it
    assert probe.set_parameters(node, {'safety.max_pick_qty': 10})[0].successful
    assert life.change(Transition.TRANSITION_CONFIGURE)
    assert life.state() == 'inactive'
    assert probe.call(node, PICK_TASK, state()).error_code == INACTIVE
    refused = probe.set_parameters(node, {'safety.max_pick_qty': 20})[0]
    assert not refused.successful and 'cleanup' in refused.reason

    assert life.change(Transition.TRANSITION_ACTIVATE)
    assert life.state() == 'active'
    beats.clear()
    assert wait_until(lambda: beats, 5.0)
    assert {v.key: v.value for v in beats[-1].values}['state'] == 'active'
    ok = probe.call(node, PICK_TASK, state())
    assert ok.success and plan_text(ok.plan) == PICK_PLAN
    big = probe.call(node, BIG, state())
    assert big.error_code == GetPlan.Response.UNSAFE_TASK and 'max_pick_qty' in big.message

    assert life.change(Transition.TRANSITION_DEACTIVATE)
    assert life.state() == 'inactive'
    assert probe.call(node, PICK_TASK, state()).error_code == INACTIVE
    assert life.change(Transition.TRANSITION_ACTIVATE)
    assert probe.call(node, PICK_TASK, state()).success

    assert life.change(Transition.TRANSITION_DEACTIVATE)
    assert life.change(Transition.TRANSITION_CLEANUP)
    assert life.state() == 'unconfigured'
    assert probe.call(node, PICK_TASK, state()).error_code == INACTIVE
    assert probe.set_parameters(node, {'safety.max_pick_qty': 20})[0].successful
    assert life.change(Transition.TRANSITION_CONFIGURE)
    assert life.change(Transition.TRANSITION_ACTIVATE)
    assert probe.call(node, BIG, state()).success  # 15 <= 20 after the new configure

    assert life.change(Transition.TRANSITION_ACTIVE_SHUTDOWN)
    assert life.state() == 'finalized'
    assert probe.call(node, PICK_TASK, state()).error_code == INACTIVE
    log = server.log()
    for word in ('unconfigured (autostart false)', 'configured: primary path', 'active:',
                 'inactive: requests are answered INACTIVE', 'models released'):
        assert word in log, word


def test_the_topic_interface_answers_inactive_too(start_planner, probe):
    start_planner('/t_life2', '-p', 'autostart:=false')
    node = '/t_life2/rag_planner'
    results = probe.listen(PlanResult, f'{node}/plan_result')
    pub = probe.publisher(PlanRequest, f'{node}/plan_request')
    assert wait_until(lambda: pub.get_subscription_count() > 0, 20.0)
    time.sleep(0.3)
    pub.publish(PlanRequest(request_id='r1', task=PICK_TASK, state=state()))
    assert wait_until(lambda: results, 10.0)
    assert results[0].request_id == 'r1' and results[0].error_code == INACTIVE
    assert not results[0].success and plan_text(results[0].plan) == 'HALT'


def test_a_configure_that_cannot_load_the_named_path_fails_and_says_why(start_planner, probe,
                                                                        tmp_path):
    server = start_planner('/t_life3', '-p', 'autostart:=false', '-p', 'pipeline:=generated',
                           '-p', f'model_dir:={tmp_path}/no_model')
    node = '/t_life3/rag_planner'
    life = Lifecycle(probe, node)
    assert not life.change(Transition.TRANSITION_CONFIGURE)
    assert life.state() == 'unconfigured'
    assert 'configure failed' in server.log() and 'no_model' in server.log()
    assert probe.call(node, PICK_TASK, state()).error_code == INACTIVE


def test_autostart_brings_up_an_active_planner(start_planner, probe):
    start_planner('/t_life4')
    node = '/t_life4/rag_planner'
    assert Lifecycle(probe, node).state() == 'active'
    assert probe.call(node, PICK_TASK, state()).success


def test_an_out_of_range_limit_is_refused_before_it_is_applied(start_planner, probe):
    """Issue 12's finding: 'max_pick_qty 1000' killed the server (one range, two places)."""
    server = start_planner('/t_life5', '-p', 'autostart:=false')
    node = '/t_life5/rag_planner'
    life = Lifecycle(probe, node)
    refused = probe.set_parameters(node, {'safety.max_pick_qty': 1000})[0]
    assert not refused.successful and '999' in refused.reason
    assert probe.set_parameters(node, {'safety.max_pick_qty': 999})[0].successful
    assert life.change(Transition.TRANSITION_CONFIGURE)
    assert life.change(Transition.TRANSITION_ACTIVATE)
    assert probe.call(node, PICK_TASK, state()).success
    assert server.proc.poll() is None
