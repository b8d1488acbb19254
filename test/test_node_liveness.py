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


def test_the_deadline_counts_from_the_arrival_of_a_queued_request(start_planner, probe):
    """A request that waits in the middleware (here: the server is stopped) is late."""
    from rag_planner_interfaces.msg import PlanRequest, PlanResult
    from conftest import state
    server = start_planner('/t_arrive')
    results = probe.listen(PlanResult, '/t_arrive/rag_planner/plan_result')
    pub = probe.publisher(PlanRequest, '/t_arrive/rag_planner/plan_request')
    assert wait_until(lambda: pub.get_subscription_count() > 0, 20.0)
    pub.publish(PlanRequest(request_id='warm', task='Go charge at CHARGER-3.',
                            state=state(), deadline_ms=150))
    assert wait_until(lambda: len(results) == 1, 10.0) and results[0].success
    server.proc.send_signal(signal.SIGSTOP)
    try:
        pub.publish(PlanRequest(request_id='queued', task='Go charge at CHARGER-3.',
                                state=state(), deadline_ms=150))
        time.sleep(0.6)
    finally:
        server.proc.send_signal(signal.SIGCONT)
    assert wait_until(lambda: len(results) == 2, 10.0)
    late = results[1]
    assert late.request_id == 'queued'
    # counted from arrival: 600 ms old, past its deadline, so the fallback chain answered
    # at once (its plan is the rule plan, the same here) and the SLO is reported missed
    assert late.latency.total_ms >= 500.0 and not late.slo_met
