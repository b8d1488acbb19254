"""Shared fixtures: ROS isolation and planner processes on real DDS."""

import faulthandler
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid

import pytest

from rag_planner.paths import default_library_path
from rag_planner.retrieval.embedder import Embedder
from rag_planner.retrieval.index_build import build_index_dir

try:  # the node tests' helpers; the core tests run without ROS
    from rag_planner_interfaces.msg import RobotState
    from rag_planner_interfaces.srv import GetPlan
    from rcl_interfaces.srv import SetParameters
    import rclpy
    from rclpy.node import Node
    from rclpy.parameter import Parameter

    from rag_planner.ros.spinner import Spinner
except ImportError:  # pragma: no cover - a core-only environment
    rclpy = Node = None

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
# (one file per pytest process unless run_tests.sh names it: runs side by side do not collide)
HANG_REPORT = os.environ.get('RAG_PLANNER_HANG_REPORT',
                             os.path.join(ROOT, 'log', f'test-hang-{os.getpid()}.txt'))
TIMED_OUT = r'Failed: Timeout \(>[0-9.]+s\) from pytest-timeout'
DDS_MODULES = {'test_node_plan_server', 'test_node_faults', 'test_node_fuzz',
               'test_node_restart', 'test_fleet_sim_node', 'test_launch',
               'test_node_lifecycle', 'test_node_reload'}


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
    if os.path.exists(HANG_REPORT):
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
    out = tmp_path_factory.mktemp('index') / 'plan_index'
    build_index_dir(default_library_path(), out, embedder=Embedder.load())
    return str(out)


@pytest.fixture(scope='session')
def signed_generation(tmp_path_factory):
    """
    A generation of the shipped library and generator, signed with a key made for it.

    ``root`` (a scratch folder), ``private``/``public`` (the key), ``other`` (a private key
    the planners do not trust), ``gen`` (the generation folder, id ``gen-a``).
    """
    from rag_planner.planners.generations import new_keypair
    from rag_planner.training.make_generation import build_generation
    root = tmp_path_factory.mktemp('generations')
    private, public = new_keypair(root / 'keys' / 'ops')
    other, _ = new_keypair(root / 'keys' / 'other')
    gen = root / 'gen_a'
    build_generation(default_library_path(), gen, private, generation_id='gen-a',
                     log=lambda _: None)
    return dict(root=root, private=private, public=public, other=other, gen=gen)


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
        # tests inject faults; test_node_params starts nodes without the permission
        faults = () if any(a.startswith('allow_fault_injection:=') for a in extra) else \
            ('-p', 'allow_fault_injection:=true')
        return start_node('rag_planner.ros.plan_server', '-r', f'__ns:={ns}',
                          '-p', f'state_dir:={state}', *pipeline, *faults, *extra)
    return start


@pytest.fixture(scope='module')
def rclpy_context():
    """rclpy initialised once per test module."""
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


# ---------------------------------------------------------------- node-test helpers
PICK_TASK = 'Pick 3 units of SKU-48213 from A12-03 and bring them to PACK-4.'
PICK_PLAN = ('NAVIGATE A12-03; SCAN A12-03; PICK SKU-48213 3; NAVIGATE PACK-4; PLACE PACK-4; '
             'REPORT DONE SKU-48213')


def plan_text(plan) -> str:
    """A Plan message in the plan grammar's written form."""
    return '; '.join(' '.join([s.action, *s.args]) for s in plan.steps)


class Probe:
    """A test-side node spinning in a background thread."""

    def __init__(self, context):
        self.node = Node(f'probe_{uuid.uuid4().hex[:8]}', context=context)
        self.spinner = Spinner(self.node, name='probe-executor')
        self.received: dict = {}
        self._client_map: dict = {}
        self._settled: set = set()  # clients whose route to the server has settled

    def listen(self, msg_type, topic: str, qos=100) -> list:
        box = self.received.setdefault(topic, [])
        with self.spinner.paused():
            self.node.create_subscription(msg_type, topic, box.append, qos)
        return box

    def publisher(self, msg_type, topic: str, qos=10):
        with self.spinner.paused():
            return self.node.create_publisher(msg_type, topic, qos)

    def client(self, srv_type, name: str):
        with self.spinner.paused():
            return self.node.create_client(srv_type, name)

    def ready(self, client, timeout_s: float = 20.0):
        """
        Return ``client`` once its service is there and the route to it has settled.

        Discovery is not symmetric (a known DDS race): our side can see the service
        before the server has matched our request writer and our response reader. A
        request sent then waits for a resend (175 ms once in CI: answered late-on-arrival),
        an answer can be lost (a lifecycle get_state never answered in CI). So the first
        call of every client waits, and any call after the service was gone (a planner
        restarted under the same name).
        """
        if client not in self._settled or not client.service_is_ready():
            assert client.wait_for_service(timeout_sec=timeout_s), f'no service {client.srv_name}'
            time.sleep(0.3)
            self._settled.add(client)
        return client

    def set_parameters(self, node: str, values: dict, timeout_s: float = 10.0) -> list:
        """Set parameters of ``node`` over its ``set_parameters`` service; return the results."""
        client = self.ready(self.client(SetParameters, f'{node}/set_parameters'), 10.0)
        future = client.call_async(SetParameters.Request(
            parameters=[Parameter(k, value=v).to_parameter_msg() for k, v in values.items()]))
        done = threading.Event()
        future.add_done_callback(lambda _: done.set())
        assert done.wait(timeout_s)
        return list(future.result().results)

    def call(self, planner: str, task: str, state: RobotState = None, deadline_ms: int = 0,
             timeout_s: float = 5.0):
        client = self.ready(self._clients(planner))
        future = client.call_async(GetPlan.Request(task=task, state=state or RobotState(),
                                                   deadline_ms=deadline_ms))
        done = threading.Event()
        future.add_done_callback(lambda _: done.set())
        if not done.wait(timeout_s):
            client.remove_pending_request(future)
            raise AssertionError(f'no answer from {planner} within {timeout_s} s')
        return future.result()

    def _clients(self, planner: str):
        if planner not in self._client_map:
            self._client_map[planner] = self.client(GetPlan, planner + '/get_plan')
        return self._client_map[planner]

    def close(self):
        assert self.spinner.shutdown(), 'the probe executor did not stop'
        self.node.destroy_node()


@pytest.fixture
def probe(rclpy_context):
    p = Probe(rclpy_context)
    yield p
    p.close()


def state(**kw) -> 'RobotState':
    """A RobotState message of a healthy robot at DOCK-1, changed by ``kw``."""
    base = dict(robot_id='robot_1', location='DOCK-1', battery_pct=80.0, carrying=False,
                blocked=[])
    base.update(kw)
    return RobotState(**base)
