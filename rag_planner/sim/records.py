"""One record per request sent by the fleet simulator or the benchmark."""

from dataclasses import asdict, dataclass, field
from typing import Optional

# How a fallback reason is classified (substring of PlanEvent.fallback_reason).
REASON_CLASSES = (
    ('exact_knn', 'exact k-NN'),
    ('overload', 'overload'),
    ('deadline', 'deadline at risk'),
    ('retrieval_timeout', 'retrieval exceeded'),
    ('generate_timeout', 'generation exceeded'),
    ('worker_wait', 'waited too long for a worker'),
    ('degraded', 'degraded:'),
    ('unfillable', 'cannot be filled'),
    ('invalid_plan', 'failed validation'),
    ('low_confidence', 'confidence'),
    ('not_understood', 'not understood'),
    ('rejected', 'rejected'),
    ('internal', 'internal error'),
    ('stage_error', 'failed:'),
    ('pipeline_unavailable', 'unavailable'),
)
# Classes a fault (not the task, the robot state or a missing model) causes.
FAULT_CLASSES = ('exact_knn', 'overload', 'deadline', 'retrieval_timeout', 'generate_timeout',
                 'worker_wait', 'degraded', 'stage_error', 'internal')


def apply_answer_message(record: 'RequestRecord', message: str) -> None:
    """Set the record's fallback reason and kind from an answer's ``message``."""
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


def reason_class(reason: str) -> str:
    """Return the class of a fallback reason ('' for no fallback, 'other' if unknown)."""
    if not reason:
        return ''
    for name, needle in REASON_CLASSES:
        if needle in reason:
            return name
    return 'other'


@dataclass
class RequestRecord:
    """What happened to one request, from the sender's side."""

    planner: str                      # label of the planner compared (pipeline, rule, ...)
    robot_id: str
    request_id: str
    interface: str                    # service | topic | direct
    family: str
    template_id: str
    task: str
    sent: float                       # steady clock, seconds since the run started
    sim_t: float = 0.0                # sim time at sending
    answered: bool = False
    rtt_ms: float = float('nan')      # send -> answer, as the robot sees it
    server_ms: float = float('nan')   # StageLatency.total_ms
    embed_ms: float = 0.0
    retrieve_ms: float = 0.0
    generate_ms: float = 0.0
    validate_ms: float = 0.0
    source: str = ''
    success: bool = False
    slo_met: bool = False
    cache_hit: bool = False
    fallback_reason: str = ''         # as PlanEvent.fallback_reason: '' = nothing degraded
    fallback_kind: str = ''           # chain (fallback chain answered) | degraded (primary
    #                                   path answered through a degraded stage) | ''
    plan: str = ''
    expected: str = ''                # '' when several plans are right
    valid: Optional[bool] = None
    exact: Optional[bool] = None
    fault: str = ''                   # label of the fault active at sending ('' = none)
    fault_expect: Optional[bool] = None   # must this request fall back (None = either)
    deadline_ms: float = 150.0
    extra: dict = field(default_factory=dict)

    @property
    def fallback(self) -> bool:
        """Return True when anything degraded: the fallback chain or a stage's own fallback."""
        return bool(self.fallback_reason)

    @property
    def chain(self) -> bool:
        """Return True when the fallback chain answered (rule, last-known safe, HALT)."""
        return self.fallback_kind == 'chain'

    @property
    def fault_handled(self) -> bool:
        """Return True when the answer names a fault-like reason (timeout, stage error...)."""
        cls = self.reason_class
        return cls in FAULT_CLASSES or (cls == 'invalid_plan' and 'garbage' in self.fault)

    @property
    def reason_class(self) -> str:
        """Class of the fallback reason."""
        return reason_class(self.fallback_reason)

    def to_dict(self) -> dict:
        """Plain dict (JSON friendly)."""
        return asdict(self)
