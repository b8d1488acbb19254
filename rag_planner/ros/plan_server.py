"""
plan_server: the ROS 2 face of the planning engine, a managed (lifecycle) node.

Service ``~/get_plan``, topics ``~/plan_request`` -> ``~/plan_result``, one
``PlanEvent`` on ``~/events`` per answer, and ``~/safe_plan`` (transient
local) whenever the fallback chain answers. The engine's own threads do the
work and hold the deadline; the executor only moves messages.

Lifecycle (Nav2's convention): the service, topics and heartbeat exist from the
start; ``configure`` loads and verifies library, index and models (the engine),
``activate`` serves, and a planner that is not active answers ``INACTIVE``.
``deactivate`` keeps the engine (caches, last-known safe plans), ``cleanup``
releases it. ``autostart`` (default) configures and activates at start.
"""

import gc
import itertools
import os
import sys
import threading
import time

from diagnostic_msgs.msg import DiagnosticStatus, KeyValue
from rag_planner_interfaces.msg import Plan, PlanEvent, PlanRequest, PlanResult
from rag_planner_interfaces.srv import GetPlan
from rcl_interfaces.msg import (
    FloatingPointRange, IntegerRange, ParameterDescriptor, SetParametersResult)
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup, ReentrantCallbackGroup
from rclpy.clock import Clock, ClockType
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from rclpy.task import Future
from std_srvs.srv import Trigger

from rag_planner.params import check_param, PARAMS_BY_NAME, PLANNER_PARAMS, PlannerConfig
from rag_planner.paths import default_state_dir
from rag_planner.planners.factory import load_primary, save_recent
from rag_planner.ros.conversions import latency_to_msg, plan_to_msg, state_from_msg
from rag_planner.ros.deferred_service import DeferredEventsExecutor, DeferredServiceExecutor
from rag_planner.ros.node_main import run_node
from rag_planner.serving.arrival import arrival_monotonic
from rag_planner.serving.engine import GIL_SWITCH_INTERVAL_S, PlanningEngine
from rag_planner.serving.faults import fault_spec, FaultInjector
from rag_planner.serving.incident_log import IncidentLog
from rag_planner.serving.last_known_safe import SafePlanStore
from rag_planner.serving.reload import GenerationReloader
from rag_planner.serving.request import inactive_outcome, PlanOutcome, PlanRequestData

SAFE_PLAN_QOS = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL,
                           reliability=ReliabilityPolicy.RELIABLE)
# The default service QoS keeps the last 10 requests across all clients: a fleet
# calling at once overflows it and requests vanish without an answer.
SERVICE_QOS = QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE)
REQUEST_QOS = QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE)


def _descriptor(spec) -> ParameterDescriptor:
    description = spec.description + (
        ' Locked once configured: change it after a lifecycle cleanup; it applies at the '
        'next configure.' if spec.configure_only else '')
    desc = ParameterDescriptor(description=description, read_only=spec.read_only)
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


class PlanServer(LifecycleNode):
    """Serves plans for one robot namespace (or a shared fleet planner)."""

    def __init__(self, before_serving=None, **kwargs):
        """
        ``before_serving``: called once everything is loaded, before the services appear.

        main() freezes the heap there: a request that arrived during that full collection
        (170 ms once on a CI machine) waited behind it and was answered late-on-arrival.
        """
        super().__init__('rag_planner', **kwargs)
        for spec in PLANNER_PARAMS:
            self.declare_parameter(spec.name, spec.default, _descriptor(spec))
        config = self._read_config()  # a bad value given at start: exit 2 with the reason
        if config['fault.stage'] and not config['allow_fault_injection']:
            # a fault given at start on a node that does not allow faults: never injected
            self.get_logger().error(
                f'fault.stage {config["fault.stage"]!r} ignored: fault injection needs '
                'allow_fault_injection:=true at start')
            self.set_parameters([Parameter('fault.stage', value='')])
        self.add_on_set_parameters_callback(self._check_parameters)
        self.add_post_set_parameters_callback(self._apply_parameters)

        # What outlives a cleanup: the state folder and the robots' last-known safe plans.
        state_dir = config['state_dir'] or str(default_state_dir(self.get_fully_qualified_name()))
        self._state_dir = state_dir
        self._safe_plans = SafePlanStore(f'{state_dir}/last_known_safe.json')
        if self._safe_plans.load_problem:
            self.get_logger().error(self._safe_plans.load_problem)
        self.engine = None          # made by configure, released by cleanup
        self._reloader = None       # ... with the reloader of its generations
        self._active = False
        self._lifecycle = 'unconfigured'

        self._events = self.create_publisher(PlanEvent, '~/events', 1000)
        self._results = self.create_publisher(PlanResult, '~/plan_result', 1000)
        self._safe_plan = self.create_publisher(Plan, '~/safe_plan', SAFE_PLAN_QOS)
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
        if config['autostart']:
            if self.trigger_configure() == TransitionCallbackReturn.SUCCESS:
                self.trigger_activate()
        else:
            self.get_logger().info('unconfigured (autostart false): waiting for '
                                   f'{self.get_fully_qualified_name()}/change_state')
        # The service appears once an autostarted planner is ready: clients that wait for
        # it are not queued behind the loading (a not-active planner answers INACTIVE).
        if before_serving is not None:
            before_serving()
        self._service_ids = itertools.count(1)
        # Reentrant: under an executor that cannot defer, each request is a coroutine
        # awaiting the engine, and in the default (mutually exclusive) group one waiting
        # request would keep the next out until it is answered.
        self.plan_service = self.create_service(GetPlan, '~/get_plan', self._on_get_plan,
                                                qos_profile=SERVICE_QOS,
                                                callback_group=ReentrantCallbackGroup())
        self.create_subscription(PlanRequest, '~/plan_request', self._on_plan_request,
                                 REQUEST_QOS)
        # Its own callback group: the default group is mutually exclusive, and a reload
        # awaiting its thread would hold it, keeping every request out until it is done.
        self.reload_service = self.create_service(
            Trigger, '~/reload', self._on_reload, callback_group=MutuallyExclusiveCallbackGroup())

    def _read_config(self) -> PlannerConfig:
        """Return the parameters as they are now (ValueError names a bad one)."""
        return PlannerConfig.from_dict(
            {spec.name: self.get_parameter(spec.name).value for spec in PLANNER_PARAMS})

    # -------------------------------------------------------------- lifecycle
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Load and verify library, index and models; a failure says why and fails."""
        self._lifecycle = 'configuring'
        try:
            # (a fault.stage without allow_fault_injection was cleared at start and is
            # refused since: nothing to filter here)
            config = self._read_config()
            incidents = IncidentLog(config['incident_log'] or
                                    f'{self._state_dir}/incidents.jsonl',
                                    config['incident_log_max_bytes'])
            faults = FaultInjector(fault_spec(config))
            loaded = load_primary(config, self._state_dir, faults.wrap, self.get_logger().info)
        except (ValueError, OSError) as exc:
            return self._failed('configure', f'{type(exc).__name__}: {exc}')
        primary, notes = loaded.planner, loaded.notes
        if notes and config['pipeline'] != 'auto':
            # the operator asked for this path by name: less is a failure, not a downgrade
            primary.close()
            return self._failed('configure', f'pipeline {config["pipeline"]!r} '
                                'cannot load: ' + '; '.join(notes))
        for note in notes:
            self.get_logger().warning(note)
        self.engine = PlanningEngine(config, primary, self._safe_plans, incidents,
                                     on_fallback=self._publish_safe_plan,
                                     on_notice=self.get_logger().warning, faults=faults,
                                     generation=loaded.generation)
        self._reloader = GenerationReloader(self.engine, self._state_dir, faults.wrap,
                                            self.get_logger().info, loaded.verified)
        self._lifecycle = 'inactive'
        self.get_logger().info(
            f'configured: primary path {self.engine.primary_name}, generation '
            f'{loaded.generation or "none"}, state in {self._state_dir}')
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Serve plans."""
        self._active = True
        self._lifecycle = 'active'
        self.get_logger().info(
            f'ready: primary path {self.engine.primary_name}, deadline '
            f'{self.engine.config["deadline_ms"]:g} ms; active: serving on '
            f'{self.get_fully_qualified_name()}/get_plan')
        return TransitionCallbackReturn.SUCCESS

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Answer INACTIVE from now on; the engine and its caches stay loaded."""
        self._active = False
        self._lifecycle = 'inactive'
        self.get_logger().info('inactive: requests are answered INACTIVE')
        return TransitionCallbackReturn.SUCCESS

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Release the engine and its models; the last-known safe plans stay."""
        self._release()
        self._lifecycle = 'unconfigured'
        self.get_logger().info('unconfigured: models released')
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Stop serving and release everything."""
        self._active = False
        self._release()
        self._lifecycle = 'finalized'
        return TransitionCallbackReturn.SUCCESS

    def on_error(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Release what a failed transition left; the node returns to unconfigured."""
        self._active = False
        self._release()
        self._lifecycle = 'unconfigured'
        return TransitionCallbackReturn.SUCCESS

    def _failed(self, transition: str, reason: str) -> TransitionCallbackReturn:
        self._lifecycle = 'unconfigured'
        self.get_logger().error(f'{transition} failed: {reason}')
        return TransitionCallbackReturn.FAILURE

    def _release(self) -> None:
        """Stop the engine's threads and keep the recent tasks for the next start."""
        self._active = False
        engine, self.engine = self.engine, None
        reloader, self._reloader = self._reloader, None
        if engine is None:
            return
        if reloader is not None:
            reloader.close()
        engine.close()
        try:
            save_recent(engine.primary, self._state_dir)
        except OSError as exc:
            self.get_logger().warning(f'could not save recent tasks: {exc}')

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
        engine = self.engine
        stuck = int(engine.counters.snapshot().get('stuck_now', 0)) if engine else 0
        values = {'state': self._lifecycle,
                  'primary_path': engine.primary_name if engine else '',
                  'generation': engine.generation if engine else '',
                  'uptime_s': f'{time.monotonic() - self._started:.1f}',
                  'stuck_workers': str(stuck), 'pid': str(os.getpid()),
                  'same_name_nodes': str(self._duplicates)}
        problems = ([f'{stuck} stuck workers'] if stuck else []) + (
            [f'{self._duplicates} other nodes of this name'] if self._duplicates > 0 else [])
        self._heartbeat.publish(DiagnosticStatus(
            level=DiagnosticStatus.WARN if problems else DiagnosticStatus.OK,
            name=self.get_fully_qualified_name(), hardware_id=self.get_fully_qualified_name(),
            message='; '.join(problems) or self._lifecycle,
            values=[KeyValue(key=k, value=v) for k, v in values.items()]))

    # ------------------------------------------------------------- parameters
    def _check_parameters(self, params) -> SetParametersResult:
        # (read-only parameters rclpy refuses before this is called)
        allow_faults = self.get_parameter('allow_fault_injection').value
        for param in params:
            spec = PARAMS_BY_NAME.get(param.name)
            if spec is not None and spec.configure_only and self._lifecycle != 'unconfigured':
                return SetParametersResult(
                    successful=False, reason=f'{param.name} is locked while the planner is '
                    f'{self._lifecycle}: change it after a lifecycle cleanup (it applies at '
                    'the next configure)')
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
        engine = self.engine
        if engine is not None:  # unconfigured: the next configure reads them
            config = engine.config
            for param in params:
                config = config.with_value(param.name, param.value)
            engine.update_config(config)
        self.get_logger().info('parameters updated: ' + ', '.join(
            f'{p.name}={p.value!r}' for p in params))

    # ---------------------------------------------------------------- serving
    def _submit(self, request: PlanRequestData, done) -> None:
        """Hand the request to the engine, or answer INACTIVE when not active."""
        engine = self.engine
        if not self._active or engine is None:
            done(inactive_outcome(request, self._lifecycle))
            return
        engine.submit(request, done)

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
            # the answer first: the event's publish to every subscriber (60-140 us each,
            # GIL held) is no part of the robot's wait
            respond(self._response(outcome))
            self._publish_event(outcome)

        self._submit(self._request(request.task, request.state, request.deadline_ms,
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
            future.set_result(outcome)
            if executor is not None:
                executor.wake()
            self._publish_event(outcome)

        self._submit(self._request(request.task, request.state, request.deadline_ms,
                                   f'srv-{next(self._service_ids)}', received), done)
        outcome = await future
        return self._response(outcome)

    def _on_plan_request(self, msg: PlanRequest, info: dict) -> None:
        # two arguments: rclpy passes the message info (the middleware's stamps) too
        received = _arrival((info or {}).get('received_timestamp'),
                            (info or {}).get('source_timestamp'))

        def done(outcome: PlanOutcome) -> None:
            self._results.publish(PlanResult(
                request_id=msg.request_id, success=outcome.success,
                error_code=int(outcome.error), plan=plan_to_msg(outcome),
                slo_met=outcome.slo_met, latency=latency_to_msg(outcome.times),
                message=outcome.message))
            self._publish_event(outcome)

        self._submit(self._request(msg.task, msg.state, msg.deadline_ms, msg.request_id,
                                   received), done)

    def _reload_result(self):
        """Return (ok, message) of a reload now (blocking: a worker thread calls it)."""
        reloader = self._reloader
        if reloader is None or not self._active:
            return False, f'refused: the planner is {self._lifecycle}, not active'
        result = reloader.reload()
        return result.ok, result.message

    def answer_reload(self, request, respond, header=None) -> None:
        """Load, verify, self-test and swap in generation_dir on a thread of its own."""
        def work() -> None:
            ok, message = self._reload_result()
            respond(Trigger.Response(success=ok, message=message))
        threading.Thread(target=work, name='reload', daemon=True).start()

    async def _on_reload(self, request, response):
        """Reload under executors that cannot defer (answers via an awaited future)."""
        future, executor = Future(), self.executor

        def work() -> None:
            future.set_result(self._reload_result())
            if executor is not None:
                executor.wake()

        threading.Thread(target=work, name='reload', daemon=True).start()
        response.success, response.message = await future
        return response

    def _publish_event(self, outcome: PlanOutcome) -> None:
        self._events.publish(PlanEvent(
            stamp=self.get_clock().now().to_msg(), request_id=outcome.request_id,
            robot_id=outcome.robot_id, source=str(outcome.source),
            error_code=int(outcome.error), fallback=int(outcome.fallback),
            latency=latency_to_msg(outcome.times), slo_met=outcome.slo_met,
            cache_hit=outcome.cache_hit, fallback_reason=outcome.fallback_reason,
            generation=outcome.generation))

    def _publish_safe_plan(self, outcome: PlanOutcome) -> None:
        self._safe_plan.publish(plan_to_msg(outcome))

    def destroy_node(self):
        """Stop the engine's threads, keep the recent tasks for the next start, stop."""
        self._release()
        self._safe_plans.close()
        super().destroy_node()


def main(args=None) -> int:
    """Run one plan server until shutdown."""
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)

    def freeze_heap() -> None:
        # Everything loaded at start (library, models' Python side, ROS) lives as long as
        # the process: out of the collector's sight, a full collection stops every thread
        # for a fraction of the time (in-process pipeline, 1,500 composite tasks: longest
        # full-collection pause 118.8 -> 41.0 ms, slowest answer 113 -> 58 ms).  Larger
        # thresholds were worse: 82 ms young collections.
        gc.collect()
        gc.freeze()

    def executor_for(node: PlanServer):
        kind = node.get_parameter('executor').value
        executor = DeferredEventsExecutor() if kind == 'events' else DeferredServiceExecutor()
        executor.defer(node.plan_service, node.answer_get_plan)
        executor.defer(node.reload_service, node.answer_reload)
        return executor

    return run_node('plan_server', lambda: PlanServer(before_serving=freeze_heap), args,
                    executor_for)


if __name__ == '__main__':
    sys.exit(main())
