"""The fleet simulator's run: spawn planners, drive one phase, report (``fleet_sim``)."""

import os
import sys
import tempfile

import rclpy
from tqdm import tqdm

from rag_planner.ros.spinner import Spinner
from rag_planner.sim.fleet_node import FleetNode
from rag_planner.sim.phase import run_phase
from rag_planner.sim.procs import PlannerProcess, RssSampler
from rag_planner.sim.report import phase_summary, print_summary, write_phase_report
from rag_planner.sim.scenario import FleetScenario, ScenarioConfig


def planner_naming(opts):
    """Return ``planner_of(robot_id)``: the planner node a robot asks."""
    if opts.planners == 'shared':
        shared = '/' + opts.shared_planner.strip('/')
        return lambda robot_id: shared
    return lambda robot_id: f'/{robot_id}/rag_planner'


def spawn_planners(opts, planners: list, state_root: str) -> list:
    """Start one plan_server process per planner name."""
    spawned = []
    for name in planners:
        ns, node_name = name.rsplit('/', 1)
        tag = ns.strip('/').replace('/', '_') or 'shared'
        params = {'pipeline': opts.pipeline, 'state_dir': f'{state_root}/{tag}',
                  'use_sim_time': opts.sim_time}
        extra = ['-r', f'__node:={node_name}'] if node_name != 'rag_planner' else []
        os.makedirs(f'{state_root}/{tag}', exist_ok=True)
        proc = PlannerProcess(ns or '/', params, f'{state_root}/{tag}.log', extra_args=extra)
        spawned.append(proc.start())
    return spawned


def run_fleet(opts, argv: list, ros_args: list, timeline: list) -> int:
    """Run the simulation the options describe; return the exit code."""
    scenario = FleetScenario(ScenarioConfig(
        robots=opts.robots, rate_hz=opts.rate, duration_s=opts.duration, seed=opts.seed,
        templates=opts.templates, evolve=not opts.static))
    robot_ids = [r.robot_id for r in scenario.robots]
    planner_of = planner_naming(opts)
    planners = sorted({planner_of(r) for r in robot_ids})
    state_root = opts.state_dir or tempfile.mkdtemp(prefix='fleet_sim_')
    spawned = spawn_planners(opts, planners, state_root) if opts.spawn else []

    rclpy.init(args=['fleet_sim', *ros_args] if ros_args else None)
    node = FleetNode(publish_clock=not opts.no_clock, clock_hz=opts.clock_hz)
    spinner = Spinner(node)
    node.start_clock()
    sampler = RssSampler()
    for proc in spawned:
        sampler.watch(proc.node_name, proc.pid)
    code = 0
    try:
        missing = node.wait_for_planners(planners, robot_ids, 60.0 + 2.0 * len(spawned),
                                         opts.interface)
        if missing:
            print('fleet_sim: planners not found: ' + ', '.join(missing[:5]), file=sys.stderr)
            for proc in spawned:
                if not proc.alive():
                    print(proc.log()[-2000:], file=sys.stderr)
            return 3
        progress = None if opts.no_progress else \
            tqdm(total=scenario.total, unit='req', desc='fleet_sim')
        sampler.start()
        result = run_phase(node, scenario, planner_of, label='fleet', speed=opts.speed,
                           interface=opts.interface, timeline=timeline,
                           answer_timeout_s=opts.answer_timeout, deadline_ms=opts.deadline_ms,
                           progress=progress)
        sampler.stop()
        if progress is not None:
            progress.close()
        summary = phase_summary(result)
        summary['cpu'] = sampler.window(result.t0_mono, result.t0_mono + result.wall_s)
        print_summary({'fleet': summary})
        if opts.out:
            write_phase_report(opts.out, result, summary, sampler, argv=['fleet_sim', *argv])
        if summary['lost']:
            code = 1
    except KeyboardInterrupt:
        code = 130
    finally:
        sampler.stop()
        node.stop_clock()
        spinner.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()
        for proc in spawned:
            proc.stop()
    return code
