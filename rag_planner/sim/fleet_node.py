"""
FleetNode: the simulated fleet's side of the ROS graph.

One GetPlan client per robot and planner (deep response queues), the
PlanRequest/PlanResult topic pairs, PlanEvent subscriptions, parameter clients
for the fault timeline, and the /clock publisher of sim time.
"""

import threading
import time
from typing import Callable, Optional, Sequence

from rag_planner_interfaces.msg import PlanEvent, PlanRequest, PlanResult
from rag_planner_interfaces.srv import GetPlan
from rcl_interfaces.srv import GetParameters, SetParameters
from rclpy.node import Node
from rclpy.parameter import Parameter, parameter_value_to_python
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rosgraph_msgs.msg import Clock


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
