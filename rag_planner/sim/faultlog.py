"""
Which fault each request met, from the times the faults were switched on and off.

The driver records, per fault window, when it asked the planners to switch
the fault on and off and when all of them acknowledged; a request is judged
by where its send and answer times fall against those.
"""

from dataclasses import dataclass, field
import math
from typing import Sequence

from rag_planner.sim.records import RequestRecord
from rag_planner.sim.timeline import FaultEvent


@dataclass
class FaultWindow:
    """When a fault was switched on and off, on the driver's steady clock (seconds)."""

    event: FaultEvent
    on_sent: float
    on_acked: float = math.inf
    off_sent: float = math.inf
    off_acked: float = math.inf
    errors: list = field(default_factory=list)


def join_events(records: Sequence[RequestRecord], events: Sequence) -> int:
    """
    Copy ``cache_hit``, ``fallback``, its reason and ``generation`` from the PlanEvents.

    The server names a service request itself (``srv-N``), which the client
    never sees, so a service answer is matched to its event by robot id and
    float32 total latency (which the answer carries too); topic answers also
    match by request id.  Returns the number of records matched.
    """
    by_key: dict = {}
    for _, _, msg in events:
        total = float(msg.latency.total_ms)
        by_key[(msg.robot_id, None, total)] = msg
        if msg.request_id:
            by_key[(msg.robot_id, msg.request_id, total)] = msg
    matched = 0
    for record in records:
        if not record.answered:
            continue
        rid = record.request_id if record.interface == 'topic' else None
        msg = by_key.get((record.robot_id, rid, record.server_ms))
        if msg is None:
            continue
        matched += 1
        record.cache_hit = bool(msg.cache_hit)
        record.fallback_code = int(msg.fallback)
        record.fallback_reason = msg.fallback_reason
        record.generation = getattr(msg, 'generation', '')  # (events of older planners)
    return matched


def effective_pipeline(configured: str, sources) -> str:
    """
    Return the path a planner really ran, from its configuration and its answers' sources.

    A planner asked for ``generated`` (or ``auto``) that never answered with a
    generated plan runs the retrieval baseline or the rule planner: faults in
    the stages it does not run cannot touch it.
    """
    if configured == 'rule_based':
        return configured
    for path in ('generated', 'retrieved'):
        if path in sources:
            return path
    return 'rule_based' if sources and configured == 'auto' else configured


def classify_faults(records: Sequence[RequestRecord], windows: Sequence[FaultWindow],
                    params: dict, settle_s: float = 0.3) -> None:
    """
    Mark each record with the fault it met and whether that fault forces a fallback.

    A request wholly inside a window (sent after every planner acknowledged
    the fault, answered before it was cleared) gets the fault's verdict; one
    that straddles an edge, or comes within ``settle_s`` after the clear was
    acknowledged, or whose robot state rules out the canonical plan anyway
    (a blocked zone: the fallback chain answers whatever the fault), may go
    either way; any other request must not fall back for a fault-like reason.
    """
    sources: dict = {}
    for record in records:
        if record.answered:
            sources.setdefault(record.extra.get('planner_node', ''), set()).add(record.source)
    for record in records:
        node = record.extra.get('planner_node', '')
        planner_params = params.get(node, {})
        pipeline = effective_pipeline(str(planner_params.get('pipeline', 'auto')),
                                      sources.get(node, set()))
        record.primary = pipeline
        start = record.sent
        end = start + (record.rtt_ms / 1000.0 if record.answered else 1e9)
        record.fault, record.fault_expect = '', False
        for w in windows:
            if end < w.on_sent or start > w.off_acked + settle_s:
                continue
            record.fault = w.event.label
            if start >= w.on_acked and end <= w.off_sent and record.expected:
                record.fault_expect = w.event.forces_fallback(pipeline, planner_params,
                                                              record.cache_hit)
            else:
                record.fault_expect = None
            break
