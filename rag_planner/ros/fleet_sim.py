"""
fleet_sim: a fleet of simulated robots asking planners for plans, on sim time.

N robots draw tasks as Poisson arrivals from the wording generator, send
them with their evolving state to a planner (one per robot namespace,
``/robot_i/rag_planner``, or one shared ``/rag_planner``) through the
``~/get_plan`` service or the ``~/plan_request`` topic, and follow the plans
they get.  A scheduled fault timeline switches the planners' ``fault.*``
parameters.  ``/clock`` runs ``--speed`` times faster than real time, so
nodes with ``use_sim_time`` see the simulated shift, while every planner's
deadline stays on the steady clock.

    fleet_sim --robots 4 --rate 0.5 --duration 120 --speed 5 --spawn --planners per-robot
    fleet_sim --robots 20 --rate 0.5 --duration 600 --speed 5 --spawn --pipeline generated \
        --faults default --out shift/

:class:`FleetNode` and :func:`run_phase` are also what the ``bench`` tool drives.
"""

import argparse
from dataclasses import dataclass
import os
import sys
import tempfile
import threading
import time
from typing import Callable, Optional, Sequence
import uuid

import rclpy
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rclpy.parameter import Parameter, parameter_value_to_python
from rcl_interfaces.srv import GetParameters, SetParameters
from rosgraph_msgs.msg import Clock

from rag_planner.fleet.faultlog import classify_faults, FaultWindow, join_events
from rag_planner.fleet.records import RequestRecord
from rag_planner.fleet.scenario import FleetScenario, ScenarioConfig
from rag_planner.fleet.timeline import default_shift_timeline, FaultEvent, parse_timeline
from rag_planner.fleet.timeline import transitions
from rag_planner.plan_grammar import format_plan
from rag_planner.ros.conversions import state_to_msg, steps_from_msg
from rag_planner.ros.spinner import Spinner
from rag_planner.safety import SafetyConfig, validate_plan
from rag_planner_interfaces.msg import PlanEvent, PlanRequest, PlanResult
from rag_planner_interfaces.srv import GetPlan

BUDGET_PARAMS = ('pipeline', 'deadline_ms', 'fallback_reserve_ms', 'retrieval_timeout_ms',
                 'retrieve_budget_ms', 'generate_budget_ms', 'embed_budget_ms')


@dataclass
class PhaseResult:
    """Everything one run of a scenario produced."""

    label: str
    records: list
    windows: list
    events: list                      # (steady t, planner, PlanEvent) received
    wall_s: float
    sim_s: float
    speed: float
    robots: list
    planner_params: dict
    clock_msgs: int = 0
    t0_wall: float = 0.0
    t0_mono: float = 0.0


def sim_seconds(stamp) -> float:
    """Seconds of a builtin_interfaces/Time."""
    return stamp.sec + stamp.nanosec * 1e-9


class FleetNode(Node):
    """Service clients, topic pairs, parameter clients and the /clock publisher."""

    def __init__(self, name: str = 'fleet_sim', publish_clock: bool = True,
                 clock_hz: float = 50.0, **kwargs):
        super().__init__(name, **kwargs)
        self._plan_clients: dict = {}
        self._fleet_topic_pubs: dict = {}
        self._pending_topic: dict = {}
        self._topic_lock = threading.Lock()
        self._fleet_param_clients: dict = {}
        self._fleet_event_subs: dict = {}
        self.on_event: Optional[Callable] = None
        self.events_received = 0
        self._clock_pub = self.create_publisher(Clock, '/clock', 10) if publish_clock else None
        self.clock_hz = clock_hz
        self.clock_msgs = 0
        self._sim_origin: Optional[float] = None
        self._speed = 1.0
        self._sim_at_origin = 0.0
        self._clock_stop = threading.Event()
        self._clock_thread: Optional[threading.Thread] = None

    # ------------------------------------------------------------------ clock
    def sim_now(self) -> float:
        """Return the current sim time in seconds (0 until a phase starts)."""
        if self._sim_origin is None:
            return self._sim_at_origin
        return self._sim_at_origin + (time.monotonic() - self._sim_origin) * self._speed

    def start_sim(self, speed: float, at: float = 0.0) -> float:
        """Let sim time run from ``at`` at ``speed`` x real time; return the steady origin."""
        self._sim_at_origin = at
        self._speed = speed
        self._sim_origin = time.monotonic()
        return self._sim_origin

    def hold_sim(self) -> None:
        """Freeze sim time where it is."""
        self._sim_at_origin = self.sim_now()
        self._sim_origin = None

    def start_clock(self) -> None:
        """Publish /clock on a background thread at ``clock_hz`` (real time)."""
        if self._clock_pub is None or self._clock_thread is not None:
            return
        self._clock_thread = threading.Thread(target=self._clock_loop, name='sim-clock',
                                              daemon=True)
        self._clock_thread.start()

    def _clock_loop(self) -> None:
        period = 1.0 / max(1.0, self.clock_hz)
        while not self._clock_stop.wait(period):
            t = self.sim_now()
            msg = Clock()
            msg.clock.sec = int(t)
            msg.clock.nanosec = int((t - int(t)) * 1e9)
            try:
                self._clock_pub.publish(msg)
                self.clock_msgs += 1
            except Exception:  # noqa: B902 - context shut down under us
                return

    def stop_clock(self) -> None:
        """Stop publishing /clock."""
        self._clock_stop.set()
        if self._clock_thread is not None:
            self._clock_thread.join(1.0)

    # ---------------------------------------------------------------- planners
    def service_client(self, planner: str, robot_id: str):
        """Return the GetPlan client of one robot for one planner (one per robot)."""
        key = (planner, robot_id)
        if key not in self._plan_clients:
            # Deep response queue: under load one robot's answers may pile up before the
            # executor takes them; the default depth of 10 would drop the oldest.
            self._plan_clients[key] = self.create_client(
                GetPlan, f'{planner}/get_plan',
                qos_profile=QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE))
        return self._plan_clients[key]

    def wait_for_planners(self, planners: Sequence[str], robot_ids: Sequence[str],
                          timeout_s: float, interface: str = 'service') -> list:
        """Wait until every planner's service (and topics) are matched; return the missing."""
        end = time.monotonic() + timeout_s
        missing = []
        for planner in planners:
            for robot_id in robot_ids:
                client = self.service_client(planner, robot_id)
                left = max(0.1, end - time.monotonic())
                if not client.wait_for_service(timeout_sec=left):
                    missing.append(f'{planner}/get_plan')
                    break
            if interface in ('topic', 'both'):
                pub = self.topic_pair(planner)
                while pub.get_subscription_count() == 0 and time.monotonic() < end:
                    time.sleep(0.05)
                if pub.get_subscription_count() == 0:
                    missing.append(f'{planner}/plan_request')
        return missing

    def topic_pair(self, planner: str):
        """Return the PlanRequest publisher of a planner (subscribing its PlanResults)."""
        if planner not in self._fleet_topic_pubs:
            self._fleet_topic_pubs[planner] = self.create_publisher(
                PlanRequest, f'{planner}/plan_request', 100)
            self.create_subscription(PlanResult, f'{planner}/plan_result',
                                     self._on_plan_result, 100)
        return self._fleet_topic_pubs[planner]

    def send_topic(self, planner: str, msg: PlanRequest, on_result: Callable) -> None:
        """Publish a PlanRequest; ``on_result(PlanResult)`` is called when it is answered."""
        pub = self.topic_pair(planner)
        with self._topic_lock:
            self._pending_topic[msg.request_id] = on_result
        pub.publish(msg)

    def forget_topic(self, request_id: str) -> None:
        """Stop waiting for a topic answer."""
        with self._topic_lock:
            self._pending_topic.pop(request_id, None)

    def _on_plan_result(self, msg: PlanResult) -> None:
        with self._topic_lock:
            callback = self._pending_topic.pop(msg.request_id, None)
        if callback is not None:
            callback(msg)

    def watch_events(self, planner: str) -> None:
        """Subscribe to a planner's PlanEvents (handed to ``on_event``)."""
        if planner in self._fleet_event_subs:
            return
        self._fleet_event_subs[planner] = self.create_subscription(
            PlanEvent, f'{planner}/events', lambda msg, p=planner: self._on_event(p, msg), 1000)

    def _on_event(self, planner: str, msg: PlanEvent) -> None:
        self.events_received += 1
        if self.on_event is not None:
            self.on_event(planner, msg)

    # -------------------------------------------------------------- parameters
    def _param_client(self, planner: str, kind: str):
        key = (planner, kind)
        if key not in self._fleet_param_clients:
            srv = SetParameters if kind == 'set' else GetParameters
            self._fleet_param_clients[key] = self.create_client(
                srv, f'{planner}/{kind}_parameters')
        return self._fleet_param_clients[key]

    def set_parameters(self, planner: str, params: dict,
                       on_done: Optional[Callable[[list], None]] = None):
        """Set parameters on a planner; ``on_done(errors)`` when it answered."""
        client = self._param_client(planner, 'set')
        request = SetParameters.Request(parameters=[
            Parameter(name, value=value).to_parameter_msg() for name, value in params.items()])
        future = client.call_async(request)

        def done(fut) -> None:
            errors = []
            try:
                for result in fut.result().results:
                    if not result.successful:
                        errors.append(result.reason)
            except Exception as exc:  # noqa: B902 - report any failure
                errors.append(repr(exc))
            if on_done is not None:
                on_done(errors)

        future.add_done_callback(done)
        return future

    def get_parameters(self, planner: str, names: Sequence[str], timeout_s: float = 5.0) -> dict:
        """Return the values of some parameters of a planner ({} when it does not answer)."""
        client = self._param_client(planner, 'get')
        if not client.wait_for_service(timeout_sec=timeout_s):
            return {}
        future = client.call_async(GetParameters.Request(names=list(names)))
        done = threading.Event()
        future.add_done_callback(lambda _: done.set())
        if not done.wait(timeout_s):
            client.remove_pending_request(future)
            return {}
        return {name: parameter_value_to_python(value)
                for name, value in zip(names, future.result().values)}


def _fill_from_answer(record: RequestRecord, rtt_ms: float, success: bool, plan, slo_met: bool,
                      latency, message: str) -> tuple:
    record.rtt_ms = rtt_ms
    record.answered = True
    record.success = bool(success)
    record.slo_met = bool(slo_met)
    record.server_ms = float(latency.total_ms)
    record.embed_ms = float(latency.embed_ms)
    record.retrieve_ms = float(latency.retrieve_ms)
    record.generate_ms = float(latency.generate_ms)
    record.validate_ms = float(latency.validate_ms)
    record.source = plan.source
    record.cache_hit = False
    record.extra['retrieved_ids'] = list(plan.retrieved_ids)
    record.extra['message'] = message
    if message.startswith('fallback:'):
        record.fallback_reason = message[len('fallback:'):].strip() or 'fallback'
        record.fallback_kind = 'chain'
    elif message.startswith('rejected'):
        record.fallback_reason = message
        record.fallback_kind = 'chain'
    elif message:
        record.fallback_reason = message
        record.fallback_kind = 'degraded'
    steps = steps_from_msg(plan)
    record.plan = format_plan(steps) if steps else ''
    return steps


def run_phase(node: FleetNode, scenario: FleetScenario, planner_of: Callable[[str], str],
              label: str = 'run', speed: float = 1.0, interface: str = 'service',
              timeline: Sequence[FaultEvent] = (), answer_timeout_s: float = 2.0,
              deadline_ms: float = 0.0, progress=None, on_record=None,
              safety: Optional[SafetyConfig] = None, settle_s: float = 0.3,
              watch_events: bool = True) -> PhaseResult:
    """
    Send the scenario's requests on time, collect the answers, switch faults on schedule.

    ``planner_of(robot_id)`` names the planner node a robot asks.  Arrivals
    and the fault timeline are in sim seconds; sim time runs ``speed`` x real
    time from 0 and is published on /clock when the node does that.
    ``interface`` is service, topic or both (alternating per request).
    Returns when every request is answered or ``answer_timeout_s`` after the
    last was sent (unanswered ones are lost).  ``watch_events`` False skips
    the PlanEvent subscription (less client work; no cache-hit figures).
    """
    safety = safety if safety is not None else SafetyConfig()
    robot_ids = [r.robot_id for r in scenario.robots]
    planners = sorted({planner_of(r) for r in robot_ids})
    lock = threading.Lock()
    records: list = []
    events: list = []
    windows: list = []
    outstanding: dict = {}
    all_sent = threading.Event()
    finished = threading.Event()

    params = {p: node.get_parameters(p, BUDGET_PARAMS) for p in planners}
    if watch_events:
        for p in planners:
            node.watch_events(p)

    def on_event(planner: str, msg: PlanEvent) -> None:
        events.append((time.monotonic() - t0, planner, msg))

    node.on_event = on_event
    t0 = node.start_sim(speed)
    t0_wall = time.time() - (time.monotonic() - t0)

    def complete(record: RequestRecord, robot, state, expected, steps, answered_at) -> None:
        record.valid = bool(steps) and validate_plan(list(steps), state, safety).ok
        if expected is not None:
            record.exact = tuple(steps) == tuple(expected)
        with lock:
            outstanding.pop(record.request_id, None)
            scenario.answered(robot, steps, node.sim_now())
            if all_sent.is_set() and not outstanding:
                finished.set()
        if progress is not None:
            progress.update(1)
        if on_record is not None:
            on_record(record)

    def send(due) -> None:
        robot = due.robot
        planner = planner_of(robot.robot_id)
        rid = f'{label}-{due.index}-{uuid.uuid4().hex[:6]}'
        use_topic = interface == 'topic' or (interface == 'both' and due.index % 2 == 1)
        record = RequestRecord(planner=label, robot_id=robot.robot_id, request_id=rid,
                               interface='topic' if use_topic else 'service',
                               family=due.example.family,
                               template_id=due.example.template_id, task=due.example.task,
                               sent=0.0, sim_t=due.sim_t, expected=due.expected_text,
                               deadline_ms=deadline_ms or 150.0)
        record.extra['planner_node'] = planner
        with lock:
            records.append(record)
            outstanding[rid] = record
        state_msg = state_to_msg(due.state)
        sent = time.monotonic()
        record.sent = sent - t0
        if use_topic:
            def on_result(msg: PlanResult) -> None:
                now = time.monotonic()
                steps = _fill_from_answer(record, (now - sent) * 1000.0, msg.success, msg.plan,
                                          msg.slo_met, msg.latency, msg.message)
                complete(record, robot, due.state, due.expected, steps, now)
            node.send_topic(planner, PlanRequest(request_id=rid, task=due.example.task,
                                                 state=state_msg), on_result)
        else:
            client = node.service_client(planner, robot.robot_id)
            future = client.call_async(GetPlan.Request(task=due.example.task, state=state_msg,
                                                       deadline_ms=int(deadline_ms)))

            def on_response(fut) -> None:
                now = time.monotonic()
                if fut.cancelled() or fut.exception() is not None:
                    return
                resp = fut.result()
                steps = _fill_from_answer(record, (now - sent) * 1000.0, resp.success,
                                          resp.plan, resp.slo_met, resp.latency, resp.message)
                complete(record, robot, due.state, due.expected, steps, now)
            record.extra['future'] = future
            future.add_done_callback(on_response)

    def switch(params_to_set: dict, event: Optional[FaultEvent]) -> None:
        now = time.monotonic() - t0
        if event is not None:
            window = FaultWindow(event, on_sent=now)
            windows.append(window)
        else:
            window = windows[-1] if windows else None
            if window is not None:
                window.off_sent = now
        pending = {'n': len(planners)}

        def acked(errors: list, w=window, on=event is not None) -> None:
            if w is None:
                return
            w.errors.extend(errors)
            pending['n'] -= 1
            if pending['n'] == 0:
                if on:
                    w.on_acked = time.monotonic() - t0
                else:
                    w.off_acked = time.monotonic() - t0

        for p in planners:
            node.set_parameters(p, params_to_set, acked)

    steps_due = transitions(timeline)
    next_switch = 0
    duration_real = scenario.config.duration_s / speed
    while True:
        now = time.monotonic()
        sim_t = (now - t0) * speed
        while next_switch < len(steps_due) and steps_due[next_switch][0] <= sim_t:
            _, p, ev = steps_due[next_switch]
            switch(p, ev)
            next_switch += 1
        with lock:
            due = scenario.due(sim_t)
        for d in due:
            send(d)
        if scenario.remaining == 0 and next_switch >= len(steps_due):
            break
        nxt = scenario.next_time()
        cands = [(nxt / speed) if nxt is not None else duration_real]
        if next_switch < len(steps_due):
            cands.append(steps_due[next_switch][0] / speed)
        wait = min(cands) - (time.monotonic() - t0)
        if wait > 0:
            time.sleep(min(wait, 0.05))
    with lock:
        all_sent.set()
        if not outstanding:
            finished.set()
    finished.wait(answer_timeout_s)
    end = time.monotonic()
    with lock:
        for record in outstanding.values():
            future = record.extra.get('future')
            if future is not None and not future.done():
                node.service_client(record.extra['planner_node'],
                                    record.robot_id).remove_pending_request(future)
            node.forget_topic(record.request_id)
    for record in records:
        record.extra.pop('future', None)
    last_answer = max((r.sent + r.rtt_ms / 1000.0 for r in records if r.answered),
                      default=end - t0)
    wall = max(1e-6, max(last_answer, (end - t0) if outstanding else 0.0))
    node.hold_sim()
    node.on_event = None
    join_events(records, events)
    classify_faults(records, windows, params, settle_s)
    return PhaseResult(label=label, records=records, windows=windows, events=events,
                       wall_s=wall, sim_s=node.sim_now(), speed=speed,
                       robots=scenario.robot_summary(), planner_params=params,
                       clock_msgs=node.clock_msgs, t0_wall=t0_wall, t0_mono=t0)


# ---------------------------------------------------------------------- command line
def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser of fleet_sim."""
    p = argparse.ArgumentParser(prog='fleet_sim', description=__doc__.split('\n\n')[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('--robots', type=int, default=4, help='number of robots')
    p.add_argument('--rate', type=float, default=0.5,
                   help='task arrivals per robot per sim second (Poisson)')
    p.add_argument('--duration', type=float, default=60.0, help='sim seconds to run')
    p.add_argument('--speed', type=float, default=1.0,
                   help='sim seconds per real second (/clock rate)')
    p.add_argument('--planners', choices=('per-robot', 'shared'), default='shared',
                   help='a planner per robot namespace, or one shared planner')
    p.add_argument('--shared-planner', default='/rag_planner',
                   help='node name of the shared planner')
    p.add_argument('--robot-prefix', default='robot_', help='robot ids / namespaces prefix')
    p.add_argument('--spawn', action='store_true',
                   help='start the plan_server processes here (otherwise they must run)')
    p.add_argument('--pipeline', default='auto',
                   choices=('auto', 'generated', 'retrieved', 'rule_based'),
                   help='pipeline parameter of spawned planners')
    p.add_argument('--sim-time', dest='sim_time', action='store_true', default=True,
                   help='spawned planners use /clock (use_sim_time)')
    p.add_argument('--no-sim-time', dest='sim_time', action='store_false')
    p.add_argument('--no-clock', action='store_true', help='do not publish /clock')
    p.add_argument('--clock-hz', type=float, default=50.0, help='/clock messages per second')
    p.add_argument('--interface', choices=('service', 'topic', 'both'), default='service')
    p.add_argument('--faults', default='',
                   help='fault timeline: "START+DUR:STAGE:MODE[:DELAY_MS],...", a YAML file, '
                        'or "default" (five faults spread over the run)')
    p.add_argument('--templates', choices=('all', 'train', 'heldout'), default='all',
                   help='wording templates tasks are drawn from')
    p.add_argument('--static', action='store_true',
                   help='robots do not evolve (fresh healthy state every request)')
    p.add_argument('--seed', type=int, default=1)
    p.add_argument('--deadline-ms', type=float, default=0.0,
                   help='GetPlan.deadline_ms sent (0 = the planner default)')
    p.add_argument('--answer-timeout', type=float, default=2.0,
                   help='seconds after the last request before unanswered ones count as lost')
    p.add_argument('--out', default='', help='write summary.json, plots and events.mcap here')
    p.add_argument('--state-dir', default='', help='state folders of spawned planners')
    p.add_argument('--no-progress', action='store_true', help='no progress bar')
    return p


def resolve_timeline(spec: str, duration_s: float) -> list:
    """Return the fault timeline of a --faults value."""
    if not spec:
        return []
    if spec == 'default':
        return default_shift_timeline(duration_s)
    if os.path.isfile(spec):
        with open(spec, 'r', encoding='utf-8') as f:
            return parse_timeline(f.read())
    return parse_timeline(spec)


def main(args=None) -> int:
    """Run the fleet simulator."""
    argv = list(sys.argv[1:] if args is None else args)
    ros_args = []
    if '--ros-args' in argv:
        i = argv.index('--ros-args')
        argv, ros_args = argv[:i], argv[i:]
    opts = build_parser().parse_args(argv)
    try:
        timeline = resolve_timeline(opts.faults, opts.duration)
    except (OSError, ValueError) as exc:
        print(f'fleet_sim: bad --faults: {exc}', file=sys.stderr)
        return 2
    if opts.robots < 1 or opts.rate < 0 or opts.duration <= 0 or opts.speed <= 0:
        print('fleet_sim: need --robots >= 1, --rate >= 0, --duration > 0, --speed > 0',
              file=sys.stderr)
        return 2

    from rag_planner.fleet.procs import PlannerProcess, RssSampler
    scenario = FleetScenario(ScenarioConfig(
        robots=opts.robots, rate_hz=opts.rate, duration_s=opts.duration, seed=opts.seed,
        templates=opts.templates, evolve=not opts.static))
    robot_ids = [r.robot_id for r in scenario.robots]
    if opts.planners == 'shared':
        def planner_of(robot_id: str) -> str:
            return '/' + opts.shared_planner.strip('/')
    else:
        def planner_of(robot_id: str) -> str:
            return f'/{robot_id}/rag_planner'
    planners = sorted({planner_of(r) for r in robot_ids})

    spawned = []
    state_root = opts.state_dir or tempfile.mkdtemp(prefix='fleet_sim_')
    if opts.spawn:
        for name in planners:
            ns, node_name = name.rsplit('/', 1)
            tag = ns.strip('/').replace('/', '_') or 'shared'
            params = {'pipeline': opts.pipeline, 'state_dir': f'{state_root}/{tag}',
                      'use_sim_time': opts.sim_time}
            extra = ['-r', f'__node:={node_name}'] if node_name != 'rag_planner' else []
            os.makedirs(f'{state_root}/{tag}', exist_ok=True)
            proc = PlannerProcess(ns or '/', params, f'{state_root}/{tag}.log', extra_args=extra)
            spawned.append(proc.start())

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
        progress = None
        if not opts.no_progress:
            from tqdm import tqdm
            progress = tqdm(total=scenario.total, unit='req', desc='fleet_sim')
        sampler.start()
        result = run_phase(node, scenario, planner_of, label='fleet', speed=opts.speed,
                           interface=opts.interface, timeline=timeline,
                           answer_timeout_s=opts.answer_timeout, deadline_ms=opts.deadline_ms,
                           progress=progress)
        sampler.stop()
        if progress is not None:
            progress.close()
        from rag_planner.fleet.report import phase_summary, print_summary, write_phase_report
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


if __name__ == '__main__':
    sys.exit(main())
