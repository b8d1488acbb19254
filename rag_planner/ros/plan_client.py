"""
plan_client: ask a plan server for plans from the command line, as a robot would.

    plan_client "Pick 3 units of SKU-48213 from A12-03 and bring them to PACK-4." \
        --robot-id robot_7 --location DOCK-1 --battery 80 --planner /robot_7/rag_planner
    plan_client --samples config/sample_tasks.yaml --diagnostics
"""

import argparse
import sys
import time

from diagnostic_msgs.msg import DiagnosticArray
from rag_planner_interfaces.srv import GetPlan
import rclpy
from rclpy.experimental import EventsExecutor
from rclpy.node import Node
import yaml

from rag_planner.domain.robot_state import RobotState
from rag_planner.paths import config_file
from rag_planner.ros.conversions import error_name, plan_text, state_to_msg


def load_samples(path: str) -> list:
    """Read (task, RobotState) pairs from a sample file (a list or a 'tasks' mapping)."""
    with open(path, 'r', encoding='utf-8') as f:
        doc = yaml.safe_load(f)
    items = doc.get('tasks', doc.get('samples', [])) if isinstance(doc, dict) else doc
    samples = []
    for item in items or []:
        samples.append((str(item['task']), RobotState.from_dict(item.get('state') or {})))
    return samples


class PlanClient(Node):
    """A GetPlan client plus an optional /diagnostics listener."""

    def __init__(self, planner: str):
        super().__init__('rag_planner_client')
        self._client = self.create_client(GetPlan, planner.rstrip('/') + '/get_plan')
        self.diagnostics = None
        self.create_subscription(DiagnosticArray, '/diagnostics', self._on_diag, 10)
        # One executor of its own, spun in slices: rclpy.spin_until_future_complete called
        # again and again (--samples) leaks a task per call and slows down (rclpy PRs
        # 1374, 1702).
        self._executor = EventsExecutor(context=self.context)
        self._executor.add_node(self)

    def _spin_until(self, done, timeout_s: float) -> None:
        end = time.monotonic() + timeout_s
        while not done() and time.monotonic() < end:
            self._executor.spin_once(timeout_sec=min(0.1, max(0.0, end - time.monotonic())))

    def _on_diag(self, msg: DiagnosticArray) -> None:
        self.diagnostics = msg

    def wait_for_server(self, timeout_s: float) -> bool:
        """Wait for the service; return True once it is on the graph."""
        return self._client.wait_for_service(timeout_sec=timeout_s)

    def call(self, task: str, state: RobotState, deadline_ms: int = 0,
             timeout_s: float = 5.0):
        """Call ~/get_plan once; return (response or None, round-trip ms)."""
        request = GetPlan.Request(task=task, state=state_to_msg(state), deadline_ms=deadline_ms)
        start = time.perf_counter()
        future = self._client.call_async(request)
        self._spin_until(future.done, timeout_s)
        rtt = (time.perf_counter() - start) * 1000.0
        if not future.done():
            self._client.remove_pending_request(future)
            return None, rtt
        return future.result(), rtt

    def wait_for_diagnostics(self, timeout_s: float):
        """Return the next DiagnosticArray, or None."""
        self.diagnostics = None
        self._spin_until(lambda: self.diagnostics is not None, timeout_s)
        return self.diagnostics

    def destroy_node(self):
        """Stop the executor, then the node."""
        self._executor.shutdown(timeout_sec=1.0)
        super().destroy_node()


def format_response(task: str, response, rtt_ms: float) -> str:
    """Format an answer for people."""
    lines = [f'task:    {task}',
             f'plan:    {plan_text(response.plan)}',
             f'source:  {response.plan.source}   success: {response.success}   '
             f'code: {error_name(response.error_code)}   '
             f'slo_met: {response.slo_met}   server {response.latency.total_ms:.2f} ms   '
             f'round trip {rtt_ms:.2f} ms']
    if response.message:
        lines.append(f'message: {response.message}')
    return '\n'.join(lines)


def format_diagnostics(msg: DiagnosticArray) -> str:
    """Format a /diagnostics message for people."""
    levels = {0: 'OK', 1: 'WARN', 2: 'ERROR', 3: 'STALE'}
    out = []
    for status in msg.status:
        level = status.level if isinstance(status.level, int) else ord(status.level)
        values = ' '.join(f'{kv.key}={kv.value}' for kv in status.values)
        out.append(f'{status.name} [{levels.get(level, level)}] {status.message}\n  {values}')
    return '\n'.join(out)


def main(argv=None) -> int:
    """Command-line entry point."""
    argv = rclpy.utilities.remove_ros_args(sys.argv if argv is None else argv)[1:]
    parser = argparse.ArgumentParser(prog='plan_client', description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('task', nargs='?', help='task text (omit with --samples)')
    parser.add_argument('--planner', default='/rag_planner', help='planner node name')
    parser.add_argument('--robot-id', default='robot_1')
    parser.add_argument('--location', default='')
    parser.add_argument('--battery', type=float, default=100.0)
    parser.add_argument('--carrying', action='store_true')
    parser.add_argument('--blocked', action='append', default=[])
    parser.add_argument('--deadline-ms', type=int, default=0)
    parser.add_argument('--samples', nargs='?', const=str(config_file('sample_tasks.yaml')),
                        help='send every task of a sample file (default: the shipped one)')
    parser.add_argument('--diagnostics', action='store_true',
                        help='print the next /diagnostics message at the end')
    parser.add_argument('--wait-s', type=float, default=10.0, help='wait for the service')
    args = parser.parse_args(argv)
    if not args.task and not args.samples:
        parser.error('give a task or --samples')
    if args.task:
        jobs = [(args.task, RobotState(args.robot_id, args.location, args.battery,
                                       args.carrying, tuple(args.blocked)))]
    else:
        jobs = load_samples(args.samples)
    rclpy.init()
    node = PlanClient(args.planner)
    try:
        if not node.wait_for_server(args.wait_s):
            print(f'plan_client: no service {args.planner}/get_plan after {args.wait_s} s',
                  file=sys.stderr)
            return 1
        failures = 0
        for task, state in jobs:
            response, rtt = node.call(task, state, args.deadline_ms)
            if response is None:
                print(f'task:    {task}\nno answer within 5 s', file=sys.stderr)
                failures += 1
                continue
            print(format_response(task, response, rtt) + '\n')
        if args.diagnostics:
            diag = node.wait_for_diagnostics(3.0)
            print(format_diagnostics(diag) if diag else 'no /diagnostics message within 3 s')
        return 1 if failures else 0
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == '__main__':
    sys.exit(main())
