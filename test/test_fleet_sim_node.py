"""fleet_sim over real DDS: robots, planners in their own processes, /clock, faults."""

import json
import os
import subprocess
import sys

import pytest
from rclpy.node import Node
from rosgraph_msgs.msg import Clock

from conftest import ROOT, wait_until
from rag_planner.sim.scenario import FleetScenario, ScenarioConfig
from rag_planner.sim.timeline import FaultEvent
from rag_planner.sim.fleet_node import FleetNode
from rag_planner.sim.phase import run_phase
from rag_planner.ros.spinner import Spinner


@pytest.fixture
def fleet_node(rclpy_context):
    node = FleetNode(name='fleet_sim_test', publish_clock=True, clock_hz=50.0,
                     context=rclpy_context)
    spinner = Spinner(node)
    node.start_clock()
    yield node
    node.stop_clock()
    assert spinner.shutdown()
    node.destroy_node()


def test_per_robot_planners_on_sim_time_answer_every_request(start_planner, fleet_node,
                                                             rclpy_context):
    robots = 3
    for i in range(robots):
        start_planner(f'/fs_robot_{i}', '-p', 'pipeline:=rule_based',
                      '-p', 'use_sim_time:=true')
    clocks = []
    probe = Node('fleet_clock_probe', context=rclpy_context)
    probe.create_subscription(Clock, '/clock', lambda m: clocks.append(
        m.clock.sec + m.clock.nanosec * 1e-9), 10)
    spinner = Spinner(probe, name='clock-probe')
    try:
        scenario = FleetScenario(ScenarioConfig(robots=robots, rate_hz=3.0, duration_s=6.0,
                                                seed=3))
        missing = fleet_node.wait_for_planners(
            [f'/fs_robot_{i}/rag_planner' for i in range(robots)],
            [r.robot_id for r in scenario.robots], 30.0, interface='both')
        assert not missing
        result = run_phase(fleet_node, scenario,
                           lambda robot_id: f'/fs_{robot_id}/rag_planner', label='t',
                           speed=3.0, interface='both', answer_timeout_s=5.0)
    finally:
        assert spinner.shutdown()
        probe.destroy_node()
    records = result.records
    assert len(records) == scenario.total > 10
    assert all(r.answered for r in records), 'lost requests'
    assert all(r.valid for r in records)
    assert {r.interface for r in records} == {'service', 'topic'}
    assert {r.robot_id for r in records} == {f'robot_{i}' for i in range(robots)}
    eligible = [r for r in records if r.exact is not None]
    assert sum(1 for r in eligible if r.exact) >= 0.8 * len(eligible)
    # The robots moved: every robot's state changed with the plans it followed.
    assert all(r['plans_done'] > 0 for r in result.robots)
    # Sim time: /clock ran about 3x faster than the steady clock, from 0 ...
    assert clocks and 0.0 <= min(clocks) and max(clocks) <= 6.0 + 3.0
    assert result.sim_s == pytest.approx(3.0 * result.wall_s, rel=0.5)
    # ... and the planners (use_sim_time) stamped their events with it.
    stamps = [msg.stamp.sec + msg.stamp.nanosec * 1e-9 for _, _, msg in result.events]
    assert stamps and max(stamps) <= result.sim_s + 1.0
    assert max(stamps) > 0.0
    # The deadline stays on the steady clock: latencies are real milliseconds.
    assert all(0.0 < r.server_ms < r.deadline_ms for r in records)


def test_fault_switch_reaches_the_planner_and_is_accounted(start_planner, fleet_node):
    start_planner('/fs_fault', '-p', 'pipeline:=rule_based')
    planner = '/fs_fault/rag_planner'
    scenario = FleetScenario(ScenarioConfig(robots=2, rate_hz=4.0, duration_s=3.0, seed=5))
    assert not fleet_node.wait_for_planners([planner], ['robot_0', 'robot_1'], 30.0)
    faults = [FaultEvent(1.0, 1.0, 'retrieve', 'hang')]
    result = run_phase(fleet_node, scenario, lambda _r: planner, label='f', speed=1.0,
                       timeline=faults, answer_timeout_s=5.0)
    assert all(r.answered for r in result.records)
    (window,) = result.windows
    assert window.errors == []
    assert window.on_sent <= window.on_acked < window.off_sent <= window.off_acked < 10.0
    # The rule planner runs no retrieval: the hang must not change a single answer.
    assert all(r.fault_expect in (False, None) for r in result.records)
    assert not any(r.fallback and r.reason_class in ('deadline', 'stage_error')
                   for r in result.records)
    assert result.planner_params[planner]['pipeline'] == 'rule_based'


def test_fleet_sim_command_spawns_shared_planner_and_writes_report(tmp_path):
    out = tmp_path / 'out'
    cmd = [sys.executable, '-m', 'rag_planner.sim.fleet_sim', '--robots', '3', '--rate', '2',
           '--duration', '4', '--speed', '2', '--spawn', '--planners', 'shared',
           '--shared-planner', '/fs_cli/rag_planner', '--pipeline', 'rule_based',
           '--state-dir', str(tmp_path / 'state'), '--out', str(out), '--no-progress']
    proc = subprocess.run(cmd, cwd=ROOT, env=dict(os.environ), capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    summary = json.loads((out / 'summary.json').read_text())
    fleet = summary['fleet']
    assert fleet['lost'] == 0 and fleet['invalid'] == 0 and fleet['answered'] > 0
    for key in ('p50_ms', 'p95_ms', 'p99_ms', 'max_ms', 'throughput_hz', 'exact_ratio'):
        assert fleet[key] is not None
    assert wait_until(lambda: (out / 'events.mcap').exists(), 1.0)
    for name in ('latency_cdf.png', 'stage_breakdown.png', 'latency_timeline.png'):
        assert (out / name).stat().st_size > 1000


def test_core_ms_per_plan_is_cpu_over_throughput():
    from rag_planner.sim.bench_run import core_ms_per_plan
    cpu = {'machine_cpu_pct': 80.0, 'pipeline_cpu_pct': 70.0, 'bench_client_cpu_pct': 30.0,
           'pipeline_rss_mib': 250.0}
    assert core_ms_per_plan(cpu, 100.0) == {'pipeline': 7.0, 'bench_client': 3.0}
    assert core_ms_per_plan(cpu, 0.0) == {} and core_ms_per_plan(cpu, None) == {}
