"""
plan_server: the ROS 2 face of the planning engine.

Service ``~/get_plan``, topics ``~/plan_request`` -> ``~/plan_result``, one
``PlanEvent`` on ``~/events`` per answer, and ``~/safe_plan`` (transient
local) whenever the fallback chain answers. The engine's own threads do the
work and hold the deadline; the executor only moves messages.
"""

import gc
import itertools
import os
import sys
import time

from diagnostic_msgs.msg import DiagnosticStatus, KeyValue
from rag_planner_interfaces.msg import Plan, PlanEvent, PlanRequest, PlanResult
from rag_planner_interfaces.srv import GetPlan
from rcl_interfaces.msg import (
    FloatingPointRange, IntegerRange, ParameterDescriptor, SetParametersResult)
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from rclpy.task import Future

from rag_planner.params import check_param, PLANNER_PARAMS, PlannerConfig
from rag_planner.paths import default_state_dir
from rag_planner.planners.factory import build_planner, save_recent
from rag_planner.ros.conversions import latency_to_msg, plan_to_msg, state_from_msg
from rag_planner.ros.deferred_service import DeferredServiceExecutor
from rag_planner.ros.node_main import run_node
from rag_planner.serving.arrival import arrival_monotonic
from rag_planner.serving.engine import GIL_SWITCH_INTERVAL_S, PlanningEngine
from rag_planner.serving.faults import fault_spec, FaultInjector
from rag_planner.serving.incident_log import IncidentLog
from rag_planner.serving.last_known_safe import SafePlanStore
from rag_planner.serving.request import PlanOutcome, PlanRequestData

SAFE_PLAN_QOS = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL,
                           reliability=ReliabilityPolicy.RELIABLE)
# The default service QoS keeps the last 10 requests across all clients: a fleet
# calling at once overflows it and requests vanish without an answer.
SERVICE_QOS = QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE)
REQUEST_QOS = QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE)


def _descriptor(spec) -> ParameterDescriptor:
    desc = ParameterDescriptor(description=spec.description, read_only=spec.read_only)
    if spec.choices:
        desc.additional_constraints = 'one of: ' + ', '.join(repr(c) for c in spec.choices)
    if spec.min_value is not None and spec.max_value is not None:
        if isinstance(spec.default, float):
            desc.floating_point_range = [FloatingPointRange(
                from_value=float(spec.min_value), to_value=float(spec.max_value))]
        elif isinstance(spec.default, int) and not isinstance(spec.default, bool):
            desc.integer_range = [IntegerRange(
                from_value=int(spec.min_value), to_value=int(spec.max_value), step=0)]
    return desc


def _arrival(received_ns, source_ns=0) -> float:
    """
    Return when a request arrived here (monotonic), from the middleware's stamps.

    The receiver's stamp (``received_timestamp``: the sample reached this process)
    covers the wait in the executor's queue; the sender's is used only where the
    receiver's is missing: it also counts discovery and resends before the first
    delivery, which this planner does not control.
    """
    return arrival_monotonic(received_ns or source_ns, time.time_ns(), time.monotonic())


DUPLICATE_CHECK_S = 2.0  # after start, and again: a planner of the same name on the graph
DUPLICATE_CHECKS = 5


class PlanServer(Node):
    """Serves plans for one robot namespace (or a shared fleet planner)."""

    def __init__(self, **kwargs):
        super().__init__('rag_planner', **kwargs)
        for spec in PLANNER_PARAMS:
            self.declare_parameter(spec.name, spec.default, _descriptor(spec))
        config = PlannerConfig.from_dict(
            {spec.name: self.get_parameter(spec.name).value for spec in PLANNER_PARAMS})
        if config['fault.stage'] and not config['allow_fault_injection']:
            # a fault given at start on a node that does not allow faults: never injected
            self.get_logger().error(
                f'fault.stage {config["fault.stage"]!r} ignored: fault injection needs '
                'allow_fault_injection:=true at start')
            config = config.with_value('fault.stage', '')
            self.set_parameters([Parameter('fault.stage', value='')])
        self.add_on_set_parameters_callback(self._check_parameters)
        self.add_post_set_parameters_callback(self._apply_parameters)

        state_dir = config['state_dir'] or str(default_state_dir(self.get_fully_qualified_name()))
        self._safe_plans = SafePlanStore(f'{state_dir}/last_known_safe.json')
        if self._safe_plans.load_problem:
            self.get_logger().error(self._safe_plans.load_problem)
        incidents = IncidentLog(config['incident_log'] or f'{state_dir}/incidents.jsonl',
                                config['incident_log_max_bytes'])
        faults = FaultInjector(fault_spec(config))
        primary, notes = build_planner(config, state_dir, faults.wrap, self.get_logger().info)
        for note in notes:
            self.get_logger().warning(note)

        self._events = self.create_publisher(PlanEvent, '~/events', 1000)
        self._results = self.create_publisher(PlanResult, '~/plan_result', 1000)
        self._safe_plan = self.create_publisher(Plan, '~/safe_plan', SAFE_PLAN_QOS)
        self.engine = PlanningEngine(config, primary, self._safe_plans, incidents,
                                     on_fallback=self._publish_safe_plan,
                                     on_notice=self.get_logger().warning, faults=faults)
        self._state_dir = state_dir
        self._service_ids = itertools.count(1)
        self.plan_service = self.create_service(GetPlan, '~/get_plan', self._on_get_plan,
                                                qos_profile=SERVICE_QOS)
        self.create_subscription(PlanRequest, '~/plan_request', self._on_plan_request,
                                 REQUEST_QOS)
        # Liveness: a heartbeat on the steady clock (sim time may stop), from the executor
        # thread that serves the requests too, so a hung executor stops it.
        self._started = time.monotonic()
        self._heartbeat = self.create_publisher(DiagnosticStatus, '~/heartbeat', 10)
        self.create_timer(config['heartbeat_period_s'], self._beat,
                          clock=Clock(clock_type=ClockType.STEADY_TIME))
        # A second planner of the same name answers the same service: say so once
        # discovery has had time to see it.
        self._duplicates, self._name_checks = 0, 0
        self._name_check = self.create_timer(
            DUPLICATE_CHECK_S, self._check_duplicate_name,
            clock=Clock(clock_type=ClockType.STEADY_TIME))
        self.get_logger().info(
            f'ready: primary path {self.engine.primary_name}, deadline '
            f'{config["deadline_ms"]:g} ms, state in {state_dir}')

    def _check_duplicate_name(self) -> None:
        # a few looks over the first seconds: discovery on a loaded machine takes a while
        self._name_checks += 1
        if self._name_checks >= DUPLICATE_CHECKS:
            self._name_check.cancel()
        me = (self.get_name(), self.get_namespace())
        found = sum(1 for n in self.get_node_names_and_namespaces() if n == me) - 1
        if found > self._duplicates:
            self._duplicates = found
            self.get_logger().error(
                f'{self._duplicates} other node(s) named {self.get_fully_qualified_name()} on '
                'the graph: requests to this name reach all of them (give each planner its '
                'own namespace)')

    def _beat(self) -> None:
        counters = self.engine.counters.snapshot()
        stuck = int(counters.get('stuck_now', 0))
        primary = self.engine.primary
        values = {'state': 'active', 'primary_path': self.engine.primary_name,
                  'generation': str(getattr(getattr(primary, 'generator', None), 'model_id', '')
                                    or ''),
                  'uptime_s': f'{time.monotonic() - self._started:.1f}',
                  'stuck_workers': str(stuck), 'pid': str(os.getpid()),
                  'same_name_nodes': str(self._duplicates)}
        problems = ([f'{stuck} stuck workers'] if stuck else []) + (
            [f'{self._duplicates} other nodes of this name'] if self._duplicates > 0 else [])
        self._heartbeat.publish(DiagnosticStatus(
            level=DiagnosticStatus.WARN if problems else DiagnosticStatus.OK,
            name=self.get_fully_qualified_name(), hardware_id=self.get_fully_qualified_name(),
            message='; '.join(problems) or 'active',
            values=[KeyValue(key=k, value=v) for k, v in values.items()]))

    # ------------------------------------------------------------- parameters
    def _check_parameters(self, params) -> SetParametersResult:
        # (read-only parameters, safety.* among them, rclpy refuses before this is called)
        allow_faults = self.get_parameter('allow_fault_injection').value
        for param in params:
            if param.name.startswith('fault.') and not allow_faults:
                return SetParametersResult(
                    successful=False, reason=f'{param.name}: fault injection is off on this '
                    'node (start it with allow_fault_injection:=true)')
            try:
                check_param(param.name, param.value)
            except ValueError as exc:
                return SetParametersResult(successful=False, reason=str(exc))
        return SetParametersResult(successful=True)

    def _apply_parameters(self, params) -> None:
        config = self.engine.config
        for param in params:
            config = config.with_value(param.name, param.value)
        self.engine.update_config(config)
        self.get_logger().info('parameters updated: ' + ', '.join(
            f'{p.name}={p.value!r}' for p in params))

    # ---------------------------------------------------------------- serving
    def _request(self, task, state_msg, deadline_ms, request_id, received) -> PlanRequestData:
        return PlanRequestData(task=task, state=state_from_msg(state_msg),
                               deadline_ms=float(deadline_ms), request_id=request_id,
                               received=received)

    def answer_get_plan(self, request, respond, header=None) -> None:
        """
        Plan for a GetPlan request; ``respond(response)`` is called from an engine thread.

        The deadline counts from the request's arrival (``header``'s middleware stamp).
        """
        received = _arrival(getattr(header, 'received_timestamp', 0),
                            getattr(header, 'source_timestamp', 0))

        def done(outcome: PlanOutcome) -> None:
            self._publish_event(outcome)
            respond(self._response(outcome))

        self.engine.submit(self._request(request.task, request.state, request.deadline_ms,
                                         f'srv-{next(self._service_ids)}', received), done)

    @staticmethod
    def _response(outcome: PlanOutcome):
        return GetPlan.Response(success=outcome.success, error_code=int(outcome.error),
                                plan=plan_to_msg(outcome), slo_met=outcome.slo_met,
                                latency=latency_to_msg(outcome.times), message=outcome.message)

    async def _on_get_plan(self, request, response):
        """Serve GetPlan under executors that cannot defer (answers via an awaited future)."""
        received = time.monotonic()
        future = Future()
        executor = self.executor

        def done(outcome: PlanOutcome) -> None:
            self._publish_event(outcome)
            future.set_result(outcome)
            if executor is not None:
                executor.wake()

        self.engine.submit(self._request(request.task, request.state, request.deadline_ms,
                                         f'srv-{next(self._service_ids)}', received), done)
        outcome = await future
        return self._response(outcome)

    def _on_plan_request(self, msg: PlanRequest, info: dict) -> None:
        # two arguments: rclpy passes the message info (the middleware's stamps) too
        received = _arrival((info or {}).get('received_timestamp'),
                            (info or {}).get('source_timestamp'))

        def done(outcome: PlanOutcome) -> None:
            self._publish_event(outcome)
            self._results.publish(PlanResult(
                request_id=msg.request_id, success=outcome.success,
                error_code=int(outcome.error), plan=plan_to_msg(outcome),
                slo_met=outcome.slo_met, latency=latency_to_msg(outcome.times),
                message=outcome.message))

        self.engine.submit(self._request(msg.task, msg.state, msg.deadline_ms, msg.request_id,
                                         received), done)

    def _publish_event(self, outcome: PlanOutcome) -> None:
        self._events.publish(PlanEvent(
            stamp=self.get_clock().now().to_msg(), request_id=outcome.request_id,
            robot_id=outcome.robot_id, source=str(outcome.source),
            error_code=int(outcome.error), fallback=int(outcome.fallback),
            latency=latency_to_msg(outcome.times), slo_met=outcome.slo_met,
            cache_hit=outcome.cache_hit, fallback_reason=outcome.fallback_reason))

    def _publish_safe_plan(self, outcome: PlanOutcome) -> None:
        self._safe_plan.publish(plan_to_msg(outcome))

    def destroy_node(self):
        """Stop the engine's threads, keep the recent tasks for the next start, stop."""
        self.engine.close()
        try:
            save_recent(self.engine.primary, self._state_dir)
        except OSError as exc:
            self.get_logger().warning(f'could not save recent tasks: {exc}')
        super().destroy_node()


def main(args=None) -> int:
    """Run one plan server until shutdown."""
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)

    def executor_for(node: PlanServer) -> DeferredServiceExecutor:
        executor = DeferredServiceExecutor()
        executor.defer(node.plan_service, node.answer_get_plan)
        # Everything loaded at start (library, models' Python side, ROS) lives as long as
        # the process: out of the collector's sight, a full collection stops every thread
        # for a fraction of the time (in-process pipeline, 1,500 composite tasks: longest
        # full-collection pause 118.8 -> 41.0 ms, slowest answer 113 -> 58 ms).  Larger
        # thresholds were worse: 82 ms young collections.
        gc.collect()
        gc.freeze()
        return executor

    return run_node('plan_server', PlanServer, args, executor_for)


if __name__ == '__main__':
    sys.exit(main())
