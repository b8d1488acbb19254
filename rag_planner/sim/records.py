"""One record per request sent by the fleet simulator or the benchmark."""

from dataclasses import asdict, dataclass, field
from typing import Optional

from rag_planner.domain.answers import ErrorCode, Fallback, Source

# Fallback codes that a fault (not the task, the robot state or a missing model) causes.
FAULT_CODES = (Fallback.STAGE_TIMEOUT, Fallback.STAGE_ERROR, Fallback.OVERLOAD,
               Fallback.DEGRADED)
# Sources the fallback chain answers with (besides the rule planner of a pipeline).
CHAIN_SOURCES = (str(Source.LAST_KNOWN_SAFE), str(Source.SAFE_DEFAULT))


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
    primary: str = ''                 # the planner's primary path (generated, retrieved, ...)
    success: bool = False
    error_code: int = 0               # GetPlan's code of the answer
    fallback_code: Optional[int] = None   # PlanEvent.fallback (None: no event matched)
    slo_met: bool = False
    cache_hit: bool = False
    fallback_reason: str = ''         # PlanEvent.fallback_reason, for people
    generation: str = ''              # PlanEvent.generation: what served it ('' = no event)
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
        return bool(self.fallback_code)

    @property
    def chain(self) -> bool:
        """Return True when the fallback chain answered (rule planner, last-known safe, HALT)."""
        if not self.fallback:
            return False
        return self.source in CHAIN_SOURCES or (
            self.source == str(Source.RULE_BASED) and self.primary != str(Source.RULE_BASED))

    @property
    def refused(self) -> bool:
        """Return True when the answer carries an error code (a refusal or a rejection)."""
        return self.error_code != ErrorCode.NONE

    @property
    def fault_handled(self) -> bool:
        """Return True when the answer names a fault-like fallback (timeout, stage error...)."""
        return self.fallback_code in FAULT_CODES or (
            self.fallback_code == Fallback.INVALID_PLAN and 'garbage' in self.fault)

    @property
    def reason_class(self) -> str:
        """Return the name of the fallback code ('' for none, 'unknown' without an event)."""
        if self.fallback_code is None:
            return 'unknown'
        return Fallback(self.fallback_code).name.lower() if self.fallback_code else ''

    @property
    def error_name(self) -> str:
        """Return the name of the answer's error code."""
        return ErrorCode(self.error_code).name

    def to_dict(self) -> dict:
        """Plain dict (JSON friendly)."""
        return asdict(self)
