"""
demo: start a planner and its diagnostics, send the sample tasks as a robot would, stop.

What `make demo` runs. Each node is its own process on real DDS; the demo
uses its own namespace and state folder so it disturbs nothing else.
"""

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time

import rclpy

from rag_planner.paths import config_file
from rag_planner.ros.plan_client import (
    format_diagnostics, format_response, load_samples, PlanClient)

NAMESPACE = '/demo'


def _start(module: str, *ros_args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, '-m', module, '--ros-args', *ros_args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _stop(proc: subprocess.Popen) -> str:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.stdout.read() if proc.stdout else ''


def main(argv=None) -> int:
    """Run the demo; exit code 1 if any request went unanswered."""
    parser = argparse.ArgumentParser(prog='demo', description=__doc__)
    parser.add_argument('--samples', default=str(config_file('sample_tasks.yaml')))
    parser.add_argument('--repeat', type=int, default=3,
                        help='send the samples this many times (statistics need a few)')
    parser.add_argument('--verbose', action='store_true', help='print the nodes\' logs')
    args = parser.parse_args(argv)
    samples = load_samples(args.samples)
    state_dir = tempfile.mkdtemp(prefix='rag_planner_demo_')
    planner = f'{NAMESPACE}/rag_planner'
    server = _start('rag_planner.ros.plan_server', '-r', f'__ns:={NAMESPACE}',
                    '--params-file', str(config_file('planner.yaml')),
                    '-p', f'state_dir:={state_dir}')
    diagnostics = _start('rag_planner.ros.plan_diagnostics', '-r', f'__ns:={NAMESPACE}',
                         '-p', f'planners:=["{planner}"]', '-p', 'publish_period_s:=0.5')
    rclpy.init()
    node = PlanClient(planner)
    lost = 0
    try:
        if not node.wait_for_server(30.0):
            print('demo: the plan server did not come up', file=sys.stderr)
            return 1
        print(f'== {len(samples)} sample tasks to {planner}/get_plan ==\n')
        latencies = []
        for round_ in range(max(1, args.repeat)):
            for task, state in samples:
                response, rtt = node.call(task, state)
                if response is None:
                    lost += 1
                    continue
                latencies.append(rtt)
                if round_ == 0:
                    print(format_response(task, response, rtt) + '\n')
        time.sleep(1.0)
        diag = node.wait_for_diagnostics(5.0)
        print(f'== {len(latencies)} answers, {lost} lost; round trip median '
              f'{sorted(latencies)[len(latencies) // 2]:.2f} ms ==' if latencies else '')
        print('== /diagnostics ==')
        print(format_diagnostics(diag) if diag else 'no /diagnostics message within 5 s')
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
        logs = [_stop(server), _stop(diagnostics)]
        if args.verbose:
            print('\n== node logs ==\n' + '\n'.join(logs))
        print(f'(state kept in {state_dir})' if os.path.isdir(state_dir) else '')
    return 1 if lost else 0


if __name__ == '__main__':
    sys.exit(main())
