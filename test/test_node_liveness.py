"""
Liveness over DDS (issue 12, item 2): the planner's heartbeat, read by the diagnostics node.

An idle healthy planner reads OK (no requests at all); one killed with SIGKILL reads
ERROR within ``liveness_timeout_s`` (3 s) plus one publish period.
"""

import signal
import time

from conftest import wait_until
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus

TIMEOUT_S = 3.0
PERIOD_S = 0.2


def _status(diags, planner: str):
    """Return the newest status of ``planner`` on /diagnostics, or None."""
    for array in reversed(diags):
        for s in array.status:
            if s.name == f'rag_planner: {planner}':
                return s
    return None


def test_idle_planner_is_ok_and_a_killed_one_is_error_within_the_timeout(
        start_planner, start_node, probe):
    planner = '/t_live/rag_planner'
    server = start_planner('/t_live')
    beats = probe.listen(DiagnosticStatus, f'{planner}/heartbeat')
    diags = probe.listen(DiagnosticArray, '/diagnostics')
    start_node('rag_planner.ros.plan_diagnostics', '-p', f'planners:=["{planner}"]',
               '-p', f'publish_period_s:={PERIOD_S}', '-p', f'liveness_timeout_s:={TIMEOUT_S}')
    assert wait_until(lambda: len(beats) >= 2, 20.0)
    beat = beats[-1]
    values = {kv.key: kv.value for kv in beat.values}
    assert beat.name == planner and values['state'] == 'active'
    assert values['primary_path'] == 'rule_based' and float(values['uptime_s']) >= 0
    # no request was ever sent: an idle, living planner is OK
    assert wait_until(lambda: _status(diags, planner) is not None and
                      _status(diags, planner).level == DiagnosticStatus.OK, 15.0)
    assert 'idle' in _status(diags, planner).message
    server.proc.send_signal(signal.SIGKILL)
    killed = time.monotonic()
    assert wait_until(lambda: _status(diags, planner).level == DiagnosticStatus.ERROR,
                      TIMEOUT_S + 5.0)
    seen = time.monotonic() - killed
    print(f'kill -9 to ERROR on /diagnostics: {seen:.2f} s')
    assert seen <= TIMEOUT_S + 2 * PERIOD_S + 1.0  # the last beat may be 0.5 s old at kill
    assert 'died or hangs' in _status(diags, planner).message


def test_a_hung_planner_is_error_and_ok_again_when_it_resumes(
        start_planner, start_node, probe):
    planner = '/t_hang/rag_planner'
    server = start_planner('/t_hang')
    diags = probe.listen(DiagnosticArray, '/diagnostics')
    start_node('rag_planner.ros.plan_diagnostics', '-p', f'planners:=["{planner}"]',
               '-p', f'publish_period_s:={PERIOD_S}', '-p', f'liveness_timeout_s:={TIMEOUT_S}')

    def level():
        status = _status(diags, planner)
        return None if status is None else status.level
    assert wait_until(lambda: level() == DiagnosticStatus.OK, 20.0)
    server.proc.send_signal(signal.SIGSTOP)  # every thread of it stops: a hang
    try:
        assert wait_until(lambda: level() == DiagnosticStatus.ERROR, TIMEOUT_S + 5.0)
    finally:
        server.proc.send_signal(signal.SIGCONT)
    assert wait_until(lambda: level() == DiagnosticStatus.OK, 10.0)


def test_a_second_publisher_on_the_planner_topics_is_reported(start_planner, start_node,
                                                              probe):
    from rag_planner_interfaces.msg import PlanEvent
    planner = '/t_fake/rag_planner'
    start_planner('/t_fake')
    diags = probe.listen(DiagnosticArray, '/diagnostics')
    start_node('rag_planner.ros.plan_diagnostics', '-p', f'planners:=["{planner}"]',
               '-p', f'publish_period_s:={PERIOD_S}')
    assert wait_until(lambda: _status(diags, planner) is not None and
                      _status(diags, planner).level == DiagnosticStatus.OK, 20.0)
    fake = probe.publisher(PlanEvent, f'{planner}/events')
    assert wait_until(lambda: 'events has 2 publishers' in _status(diags, planner).message,
                      10.0)
    assert _status(diags, planner).level == DiagnosticStatus.WARN
    assert fake is not None


def test_a_second_planner_of_the_same_name_is_reported_at_start(start_planner, probe):
    first = start_planner('/t_twin')
    beats = probe.listen(DiagnosticStatus, '/t_twin/rag_planner/heartbeat')
    assert wait_until(lambda: len(beats) >= 1, 20.0)
    second = start_planner('/t_twin')
    assert wait_until(lambda: 'other node(s) named /t_twin/rag_planner' in second.log(), 20.0)
    assert wait_until(lambda: any(kv.key == 'same_name_nodes' and kv.value == '1'
                                  for b in beats[-4:] for kv in b.values), 10.0)
    assert first.proc.poll() is None and second.proc.poll() is None


def test_the_deadline_counts_from_the_arrival_of_a_queued_request(rclpy_context, probe,
                                                                  tmp_path):
    """A request whose middleware stamp is 600 ms old (it waited in the queue) is late."""
    from rag_planner_interfaces.msg import PlanRequest, PlanResult
    from rclpy.parameter import Parameter
    from conftest import state
    from rag_planner.ros.plan_server import PlanServer
    server = PlanServer(context=rclpy_context, namespace='/t_arrive', parameter_overrides=[
        Parameter('pipeline', value='rule_based'), Parameter('state_dir', value=str(tmp_path))])
    try:
        results = probe.listen(PlanResult, '/t_arrive/rag_planner/plan_result')
        assert wait_until(lambda: server.count_subscribers(
            '/t_arrive/rag_planner/plan_result') > 0, 10.0)
        now = time.time_ns()
        for rid, age_ns in (('fresh', 0), ('queued', 600_000_000)):
            # what rclpy hands the callback: the message and its info (the stamps)
            server._on_plan_request(
                PlanRequest(request_id=rid, task='Go charge at CHARGER-3.', state=state(),
                            deadline_ms=150),
                {'received_timestamp': now - age_ns, 'source_timestamp': now - age_ns})
        assert wait_until(lambda: len(results) == 2, 10.0)
        by_id = {r.request_id: r for r in results}
        assert by_id['fresh'].success and by_id['fresh'].slo_met
        late = by_id['queued']
        # counted from arrival: past its deadline, the fallback chain answered at once
        # (the rule plan, the same plan here) and the SLO is reported missed
        assert late.latency.total_ms >= 550.0 and not late.slo_met
        assert late.success
    finally:
        server.destroy_node()
