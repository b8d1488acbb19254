"""Shared fixtures: ROS isolation and planner processes on real DDS."""

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
