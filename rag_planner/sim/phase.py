"""
One phase of a fleet run: send a scenario's requests on time, collect the answers.

:func:`run_phase` is what ``fleet_sim`` and ``bench`` drive. Arrivals and the
fault timeline are in sim seconds; sim time runs ``speed`` x real time from 0
(published on /clock when the node does that). Requests go through the
``~/get_plan`` service or the ``~/plan_request`` topic; fault windows switch
the planners' ``fault.*`` parameters. Unanswered requests count as lost.
"""

from dataclasses import dataclass
import threading
import time
from typing import Callable, Optional, Sequence
import uuid

from rag_planner_interfaces.msg import PlanEvent, PlanRequest, PlanResult
from rag_planner_interfaces.srv import GetPlan

from rag_planner.domain.plan_grammar import format_plan
from rag_planner.domain.safety import SafetyConfig, validate_plan
from rag_planner.ros.conversions import state_to_msg, steps_from_msg
from rag_planner.sim.faultlog import classify_faults, FaultWindow, join_events
from rag_planner.sim.fleet_node import FleetNode
from rag_planner.sim.records import RequestRecord
from rag_planner.sim.scenario import FleetScenario
from rag_planner.sim.timeline import FaultEvent, transitions

# Parameters of every planner read before a phase (the fault accounting needs them).
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


def fill_from_answer(record: RequestRecord, rtt_ms: float, answer) -> tuple:
    """Copy an answer (GetPlan response or PlanResult) onto its record; return its steps."""
    plan, latency = answer.plan, answer.latency
    record.rtt_ms = rtt_ms
    record.answered = True
    record.success = bool(answer.success)
    record.error_code = int(answer.error_code)
    slo_met = answer.slo_met
    record.slo_met = bool(slo_met)
    record.server_ms = float(latency.total_ms)
    record.embed_ms = float(latency.embed_ms)
    record.retrieve_ms = float(latency.retrieve_ms)
    record.generate_ms = float(latency.generate_ms)
    record.validate_ms = float(latency.validate_ms)
    record.source = plan.source
    record.cache_hit = False
    record.extra['retrieved_ids'] = list(plan.retrieved_ids)
    record.extra['message'] = answer.message
    steps = steps_from_msg(plan)
    record.plan = format_plan(steps) if steps else ''
    return steps


class _Phase:
    """The state of one running phase; :meth:`run` drives it to the end."""

    def __init__(self, node: FleetNode, scenario: FleetScenario, planner_of, label: str,
                 speed: float, interface: str, timeline: Sequence[FaultEvent],
                 deadline_ms: float, progress, on_record, safety: SafetyConfig):
        self.node = node
        self.scenario = scenario
        self.planner_of = planner_of
        self.label = label
        self.speed = speed
        self.interface = interface
        self.timeline = timeline
        self.deadline_ms = deadline_ms
        self.progress = progress
        self.on_record = on_record
        self.safety = safety
        self.planners = sorted({planner_of(r.robot_id) for r in scenario.robots})
        self.lock = threading.Lock()
        self.records: list = []
        self.events: list = []
        self.windows: list = []
        self.outstanding: dict = {}
        self.all_sent = threading.Event()
        self.finished = threading.Event()
        self.t0 = 0.0

    # ------------------------------------------------------------------ answers
    def on_event(self, planner: str, msg: PlanEvent) -> None:
        self.events.append((time.monotonic() - self.t0, planner, msg))

    def complete(self, record: RequestRecord, robot, due, steps) -> None:
        record.valid = bool(steps) and validate_plan(list(steps), due.state, self.safety).ok
        record.exact = tuple(steps) == tuple(due.expected) and \
            record.error_code == due.expected_code
        record.extra['expected_code'] = int(due.expected_code)
        with self.lock:
            self.outstanding.pop(record.request_id, None)
            self.scenario.answered(robot, steps, self.node.sim_now())
            if self.all_sent.is_set() and not self.outstanding:
                self.finished.set()
        if self.progress is not None:
            self.progress.update(1)
        if self.on_record is not None:
            self.on_record(record)

    # ---------------------------------------------------------------- requests
    def send(self, due) -> None:
        robot = due.robot
        planner = self.planner_of(robot.robot_id)
        rid = f'{self.label}-{due.index}-{uuid.uuid4().hex[:6]}'
        use_topic = self.interface == 'topic' or (self.interface == 'both' and due.index % 2)
        record = RequestRecord(planner=self.label, robot_id=robot.robot_id, request_id=rid,
                               interface='topic' if use_topic else 'service',
                               family=due.example.family,
                               template_id=due.example.template_id, task=due.example.task,
                               sent=0.0, sim_t=due.sim_t, expected=due.expected_text,
                               deadline_ms=self.deadline_ms or 150.0)
        record.extra['planner_node'] = planner
        with self.lock:
            self.records.append(record)
            self.outstanding[rid] = record
        state_msg = state_to_msg(due.state)
        sent = time.monotonic()
        record.sent = sent - self.t0
        if use_topic:
            def on_result(msg: PlanResult) -> None:
                rtt = (time.monotonic() - sent) * 1000.0
                steps = fill_from_answer(record, rtt, msg)
                self.complete(record, robot, due, steps)
            self.node.send_topic(planner, PlanRequest(request_id=rid, task=due.example.task,
                                                      state=state_msg), on_result)
            return
        client = self.node.service_client(planner, robot.robot_id)
        future = client.call_async(GetPlan.Request(task=due.example.task, state=state_msg,
                                                   deadline_ms=int(self.deadline_ms)))

        def on_response(fut) -> None:
            rtt = (time.monotonic() - sent) * 1000.0
            if fut.cancelled() or fut.exception() is not None:
                return
            resp = fut.result()
            steps = fill_from_answer(record, rtt, resp)
            self.complete(record, robot, due, steps)
        record.extra['future'] = future
        future.add_done_callback(on_response)

    # ------------------------------------------------------------------ faults
    def switch(self, params_to_set: dict, event: Optional[FaultEvent]) -> None:
        now = time.monotonic() - self.t0
        if event is not None:
            window = FaultWindow(event, on_sent=now)
            self.windows.append(window)
        else:
            window = self.windows[-1] if self.windows else None
            if window is not None:
                window.off_sent = now
        pending = {'n': len(self.planners)}

        def acked(errors: list, w=window, on=event is not None) -> None:
            if w is None:
                return
            w.errors.extend(errors)
            pending['n'] -= 1
            if pending['n'] == 0:
                if on:
                    w.on_acked = time.monotonic() - self.t0
                else:
                    w.off_acked = time.monotonic() - self.t0

        for p in self.planners:
            self.node.set_parameters(p, params_to_set, acked)

    # --------------------------------------------------------------------- run
    def send_all(self) -> None:
        """Send every request and switch every fault at its time."""
        steps_due = transitions(self.timeline)
        next_switch = 0
        duration_real = self.scenario.config.duration_s / self.speed
        while True:
            sim_t = (time.monotonic() - self.t0) * self.speed
            while next_switch < len(steps_due) and steps_due[next_switch][0] <= sim_t:
                _, params, event = steps_due[next_switch]
                self.switch(params, event)
                next_switch += 1
            with self.lock:
                due = self.scenario.due(sim_t)
            for d in due:
                self.send(d)
            if self.scenario.remaining == 0 and next_switch >= len(steps_due):
                break
            nxt = self.scenario.next_time()
            cands = [(nxt / self.speed) if nxt is not None else duration_real]
            if next_switch < len(steps_due):
                cands.append(steps_due[next_switch][0] / self.speed)
            wait = min(cands) - (time.monotonic() - self.t0)
            if wait > 0:
                time.sleep(min(wait, 0.05))

    def give_up_on_outstanding(self) -> None:
        """Stop waiting for the requests still unanswered (they are lost)."""
        with self.lock:
            for record in self.outstanding.values():
                future = record.extra.get('future')
                if future is not None and not future.done():
                    self.node.service_client(record.extra['planner_node'],
                                             record.robot_id).remove_pending_request(future)
                self.node.forget_topic(record.request_id)
        for record in self.records:
            record.extra.pop('future', None)


def run_phase(node: FleetNode, scenario: FleetScenario, planner_of: Callable[[str], str],
              label: str = 'run', speed: float = 1.0, interface: str = 'service',
              timeline: Sequence[FaultEvent] = (), answer_timeout_s: float = 2.0,
              deadline_ms: float = 0.0, progress=None, on_record=None,
              safety: Optional[SafetyConfig] = None, settle_s: float = 0.3,
              watch_events: bool = True) -> PhaseResult:
    """
    Send the scenario's requests on time, collect the answers, switch faults on schedule.

    ``planner_of(robot_id)`` names the planner node a robot asks; ``interface`` is
    service, topic or both (alternating per request).  Returns when every request
    is answered or ``answer_timeout_s`` after the last was sent.  ``watch_events``
    False skips the PlanEvent subscription (less client work; no cache-hit figures).
    """
    phase = _Phase(node, scenario, planner_of, label, speed, interface, timeline, deadline_ms,
                   progress, on_record, safety if safety is not None else SafetyConfig())
    params = {p: node.get_parameters(p, BUDGET_PARAMS) for p in phase.planners}
    if watch_events:
        for p in phase.planners:
            node.watch_events(p)
    node.on_event = phase.on_event
    t0 = phase.t0 = node.start_sim(speed)
    t0_wall = time.time() - (time.monotonic() - t0)
    phase.send_all()
    with phase.lock:
        phase.all_sent.set()
        if not phase.outstanding:
            phase.finished.set()
    phase.finished.wait(answer_timeout_s)
    end = time.monotonic()
    lost = bool(phase.outstanding)
    phase.give_up_on_outstanding()
    records = phase.records
    last_answer = max((r.sent + r.rtt_ms / 1000.0 for r in records if r.answered),
                      default=end - t0)
    wall = max(1e-6, max(last_answer, (end - t0) if lost else 0.0))
    node.hold_sim()
    node.on_event = None
    join_events(records, phase.events)
    classify_faults(records, phase.windows, params, settle_s)
    return PhaseResult(label=label, records=records, windows=phase.windows,
                       events=phase.events, wall_s=wall, sim_s=node.sim_now(), speed=speed,
                       robots=scenario.robot_summary(), planner_params=params,
                       clock_msgs=node.clock_msgs, t0_wall=t0_wall, t0_mono=t0)
