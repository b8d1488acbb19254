"""
Locked-down parameters over DDS (issue 12, item 3).

Nobody on the domain may change a safety limit (``safety.*``, ``max_subtasks`` are
read-only: set at start) nor switch on a fault unless the node was started with
``allow_fault_injection:=true``; a refused set leaves the node serving as before.
"""

import time

from conftest import PICK_PLAN, PICK_TASK, plan_text, state


def _setter(probe, node: str):
    return lambda name, value: probe.set_parameters(node, {name: value}, 5.0)[0]


BIG = 'Pick 500 units of SKU-48213 from A12-03 and bring them to PACK-4.'


def test_safety_limits_and_faults_cannot_be_changed_over_the_network(start_planner, probe):
    start_planner('/t_lock', '-p', 'allow_fault_injection:=false')
    node = '/t_lock/rag_planner'
    set_param = _setter(probe, node)
    for name, value in (('safety.max_pick_qty', 999), ('safety.min_battery_pct', 0.0),
                        ('safety.max_steps', 256), ('safety.default_charger', 'CHARGER-9'),
                        ('safety.low_battery_policy', 'charge_only'), ('max_subtasks', 8),
                        ('allow_fault_injection', True), ('fault.stage', 'retrieve'),
                        ('fault.mode', 'hang')):
        result = set_param(name, value)
        assert not result.successful, name
        assert result.reason, name
    time.sleep(0.1)
    # the limits hold: 500 is still above max_pick_qty, 2 % is still a low battery
    big = probe.call(node, BIG, state())
    assert not big.success and 'max_pick_qty' in big.message
    low = probe.call(node, PICK_TASK, state(battery_pct=2.0))
    assert plan_text(low.plan).startswith('NAVIGATE CHARGER-1; CHARGE CHARGER-1')
    ok = probe.call(node, PICK_TASK, state())
    assert ok.success and plan_text(ok.plan) == PICK_PLAN


def test_a_fault_given_at_start_without_permission_is_ignored(start_planner, probe):
    server = start_planner('/t_lock2', '-p', 'allow_fault_injection:=false',
                           '-p', 'fault.stage:=retrieve', '-p', 'fault.mode:=hang')
    response = probe.call('/t_lock2/rag_planner', PICK_TASK, state())
    assert response.success and plan_text(response.plan) == PICK_PLAN
    assert 'allow_fault_injection' in server.log()


def test_faults_are_allowed_with_the_flag(start_planner, probe):
    start_planner('/t_lock3', '-p', 'allow_fault_injection:=true')
    set_param = _setter(probe, '/t_lock3/rag_planner')
    assert set_param('fault.stage', 'retrieve').successful
    assert set_param('fault.stage', '').successful
    assert not set_param('safety.max_pick_qty', 999).successful  # the flag opens faults only
