"""Shared fixtures: ROS isolation and planner processes on real DDS."""

import faulthandler
import os
import random
import signal
import subprocess
import sys
import time

import pytest

# Every test run talks on its own DDS domain, on loopback only, so parallel runs
# (and other engineers' runs) on this machine never see each other's nodes.
os.environ.setdefault('ROS_DOMAIN_ID', str(random.Random(os.getpid()).randint(10, 99)))
os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
os.environ.setdefault('RCUTILS_LOGGING_BUFFERED_STREAM', '0')

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Two guards so that a hung test can never stall the run (CI has a hard time limit).
# 1. pytest-timeout (pytest.ini `timeout`) fails a test blocked in Python code; a test
#    on real DDS that timed out runs once more, as it may have hit a discovery or
#    transport stall of the machine rather than a fault of ours (a second timeout fails).
# 2. A test blocked inside C code (where no signal reaches Python) is ended by
#    faulthandler after HARD_TIMEOUT_S: every thread's stack goes to HANG_REPORT, which
#    scripts/run_tests.sh prints, and the run exits with an error.
HARD_TIMEOUT_S = float(os.environ.get('RAG_PLANNER_HARD_TIMEOUT_S', '300'))
HANG_REPORT = os.environ.get('RAG_PLANNER_HANG_REPORT', os.path.join(ROOT, 'log', 'test-hang.txt'))
TIMED_OUT = r'Failed: Timeout \(>[0-9.]+s\) from pytest-timeout'
DDS_MODULES = {'test_node_plan_server', 'test_node_faults', 'test_node_fuzz',
               'test_node_restart', 'test_fleet_sim_node', 'test_launch'}


def pytest_collection_modifyitems(config, items):
    """Mark the tests on real DDS: rerun once, only after a timeout."""
    for item in items:
        if item.path.stem in DDS_MODULES:
            item.add_marker(pytest.mark.flaky(reruns=1, only_rerun=[TIMED_OUT]))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """Arm the hard timeout around each test (its reruns included)."""
    os.makedirs(os.path.dirname(HANG_REPORT), exist_ok=True)
    with open(HANG_REPORT, 'w') as report:
        report.write(f'running {item.nodeid} (hard timeout {HARD_TIMEOUT_S:.0f} s)\n')
        report.flush()
        faulthandler.dump_traceback_later(HARD_TIMEOUT_S, exit=True, file=report)
        try:
            yield
        finally:
            faulthandler.cancel_dump_traceback_later()
    os.remove(HANG_REPORT)


class NodeProcess:
    """A node run as ``python -m module --ros-args ...`` in its own process."""

    def __init__(self, module: str, ros_args, log_path: str):
        self.log_path = log_path
        self._log = open(log_path, 'w')
        self.proc = subprocess.Popen([sys.executable, '-m', module, '--ros-args', *ros_args],
                                     stdout=self._log, stderr=subprocess.STDOUT, cwd=ROOT)

    def log(self) -> str:
        """What the node printed so far."""
        self._log.flush()
        with open(self.log_path) as f:
            return f.read()

    def stop(self) -> int:
        """SIGINT, then SIGKILL after 10 s; return the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode


@pytest.fixture
def start_node(tmp_path):
    """Factory: start_node(module, *ros_args) -> NodeProcess, stopped at teardown."""
    started = []

    def start(module: str, *ros_args: str) -> NodeProcess:
        node = NodeProcess(module, ros_args, str(tmp_path / f'node{len(started)}.log'))
        started.append(node)
        return node

    yield start
    for node in started:
        node.stop()


@pytest.fixture(scope='session')
def shared_index(tmp_path_factory):
    """The shipped library's HNSW index, built once per test session."""
    from rag_planner.embedder import Embedder
    from rag_planner.tools.build_index import build_index_dir, default_library_path
    out = tmp_path_factory.mktemp('index') / 'plan_index'
    build_index_dir(default_library_path(), out, embedder=Embedder.load())
    return str(out)


@pytest.fixture
def start_planner(start_node, tmp_path):
    """
    Start a plan server in namespace ``ns`` with its own state folder.

    ``pipeline`` defaults to rule_based (fast start, the service contract);
    pass ``-p pipeline:=auto -p index_dir:=...`` in ``extra`` for the full one.
    """
    def start(ns: str, *extra: str) -> NodeProcess:
        state = tmp_path / ('state' + ns.replace('/', '_'))
        pipeline = () if any(a.startswith('pipeline:=') for a in extra) else \
            ('-p', 'pipeline:=rule_based')
        return start_node('rag_planner.ros.plan_server', '-r', f'__ns:={ns}',
                          '-p', f'state_dir:={state}', *pipeline, *extra)
    return start


@pytest.fixture(scope='module')
def rclpy_context():
    """rclpy initialised once per test module."""
    import rclpy
    context = rclpy.Context()
    rclpy.init(context=context)
    yield context
    rclpy.try_shutdown(context=context)


def wait_until(predicate, timeout_s: float, step_s: float = 0.05) -> bool:
    """Poll ``predicate`` until true or timeout; return its last value."""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(step_s)
    return bool(predicate())
