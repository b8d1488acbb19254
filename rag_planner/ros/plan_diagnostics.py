"""plan_diagnostics: PlanEvents of one or more planners -> /diagnostics at 1 Hz."""

from dataclasses import replace
import sys
import time

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rag_planner_interfaces.msg import PlanEvent
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.clock import Clock, ClockType
from rclpy.node import Node

from rag_planner.ros.node_main import run_node
from rag_planner.serving.latency_stats import ERROR, EventSample, LatencyWindow, OK, STALE, WARN
from rag_planner.serving.liveness import DEFAULT_TIMEOUT_S, with_liveness

LEVELS = {OK: DiagnosticStatus.OK, WARN: DiagnosticStatus.WARN,
          ERROR: DiagnosticStatus.ERROR, STALE: DiagnosticStatus.STALE}

PARAMS = (
    ('planners', ['/rag_planner'], 'Fully qualified names of the planner nodes to watch; '
     'their <name>/events topics are subscribed.'),
    ('window_s', 60.0, 'Sliding window of the statistics, seconds.'),
    ('slo_ms', 150.0, 'Latency SLO: p99 above it is ERROR.'),
    ('warn_ms', 130.0, 'p95 above it is WARN.'),
    ('max_fallback_ratio', 0.2, 'Fallback ratio above it is ERROR.'),
    ('publish_period_s', 1.0, 'Period of /diagnostics, seconds (steady clock).'),
    ('liveness_timeout_s', DEFAULT_TIMEOUT_S, 'A planner whose <name>/heartbeat is silent '
     'this long is ERROR (died or hangs), seconds.'),
)


class PlanDiagnostics(Node):
    """Publishes one DiagnosticStatus per watched planner."""

    def __init__(self, **kwargs):
        super().__init__('rag_planner_diagnostics', **kwargs)
        for name, default, description in PARAMS:
            self.declare_parameter(name, default, ParameterDescriptor(description=description))
        planners = [p for p in self.get_parameter('planners').value if p.strip()]
        if not planners:
            raise ValueError('parameter planners is empty: nothing to watch')
        self._window_s = float(self.get_parameter('window_s').value)
        period = float(self.get_parameter('publish_period_s').value)
        if not self._window_s > 0 or not period > 0:
            raise ValueError('window_s and publish_period_s must be > 0')
        self._timeout_s = float(self.get_parameter('liveness_timeout_s').value)
        if not self._timeout_s > 0:
            raise ValueError('liveness_timeout_s must be > 0')
        self._windows = {}
        self._beats: dict = {}  # planner -> (monotonic time of its last heartbeat, message)
        for planner in planners:
            name = '/' + planner.strip().strip('/')
            self._windows[name] = LatencyWindow(self._window_s)
            self.create_subscription(PlanEvent, f'{name}/events',
                                     lambda msg, n=name: self._on_event(n, msg), 100)
            self.create_subscription(DiagnosticStatus, f'{name}/heartbeat',
                                     lambda msg, n=name: self._on_beat(n, msg), 10)
        self._pub = self.create_publisher(DiagnosticArray, '/diagnostics', 10)
        # Latency is a wall-clock matter: keep publishing when sim time stops.
        self.create_timer(period, self._publish, clock=Clock(clock_type=ClockType.STEADY_TIME))
        self.get_logger().info('watching ' + ', '.join(self._windows))

    def _on_event(self, planner: str, msg: PlanEvent) -> None:
        self._windows[planner].add(EventSample(
            t=time.monotonic(), total_ms=float(msg.latency.total_ms), slo_met=bool(msg.slo_met),
            fallback=msg.fallback != PlanEvent.FALLBACK_NONE, cache_hit=bool(msg.cache_hit),
            error_code=int(msg.error_code)))

    def _check_publishers(self, planner: str, summary):
        """
        Raise the level when a topic this node reads has more than one publisher.

        Only the planner publishes its events and heartbeat: a second publisher fakes
        them (500 fake PlanEvents could flip the status to ERROR, or hide a real one).
        """
        extra = [f'{topic} has {n} publishers'
                 for topic, n in ((t, self.count_publishers(f'{planner}/{t}'))
                                  for t in ('events', 'heartbeat')) if n > 1]
        if not extra:
            return summary
        level = summary.level if summary.level in (ERROR, STALE) else WARN
        return replace(summary, level=level, message=f'{summary.message}; '
                       f'{", ".join(extra)} (only the planner should publish there)')

    def _on_beat(self, planner: str, msg: DiagnosticStatus) -> None:
        self._beats[planner] = (time.monotonic(), msg)

    def _publish(self) -> None:
        now = time.monotonic()
        slo = float(self.get_parameter('slo_ms').value)
        warn = float(self.get_parameter('warn_ms').value)
        max_fb = float(self.get_parameter('max_fallback_ratio').value)
        array = DiagnosticArray()
        array.header.stamp = self.get_clock().now().to_msg()
        for planner, window in self._windows.items():
            beat = self._beats.get(planner)
            age = now - beat[0] if beat else None
            state = next((kv.value for kv in beat[1].values if kv.key == 'state'), '') \
                if beat else ''
            summary = with_liveness(window.summary(now, slo, warn, max_fb), age,
                                    self._timeout_s, state)
            summary = self._check_publishers(planner, summary)
            values = summary.key_values() + [
                ('heartbeat_age_s', 'nan' if age is None else f'{age:.2f}')]
            if beat:
                values += [(f'planner_{kv.key}', kv.value) for kv in beat[1].values]
            array.status.append(DiagnosticStatus(
                level=LEVELS[summary.level], name=f'rag_planner: {planner}',
                message=summary.message, hardware_id=planner,
                values=[KeyValue(key=k, value=v) for k, v in values]))
        self._pub.publish(array)


def main(args=None) -> int:
    """Run the diagnostics node until shutdown."""
    return run_node('plan_diagnostics', PlanDiagnostics, args)


if __name__ == '__main__':
    sys.exit(main())
