"""Summary statistics of request records: latency percentiles, ratios, fault accounting."""

from collections import Counter
import math
from typing import Iterable, Optional, Sequence

import numpy as np

from rag_planner.serving.latency_stats import percentiles
from rag_planner.sim.records import RequestRecord

STAGES = ('embed_ms', 'retrieve_ms', 'generate_ms', 'validate_ms')


def _ratio(num: int, den: int) -> Optional[float]:
    return num / den if den else None


def stage_breakdown(records: Sequence[RequestRecord]) -> dict:
    """
    Return mean and p99 milliseconds per stage of answered requests.

    ``server_other_ms`` is the server's total minus its stages (queueing,
    conversion, fallback chain); ``transport_ms`` is the round trip minus the
    server's total (DDS, executors, both processes' Python).
    """
    done = [r for r in records if r.answered]
    out: dict = {}
    if not done:
        return out
    cols = {s: [getattr(r, s) for r in done] for s in STAGES}
    cols['server_other_ms'] = [max(0.0, r.server_ms - sum(getattr(r, s) for s in STAGES))
                               for r in done if math.isfinite(r.server_ms)]
    cols['transport_ms'] = [max(0.0, r.rtt_ms - r.server_ms) for r in done
                            if math.isfinite(r.server_ms) and math.isfinite(r.rtt_ms)]
    for name, values in cols.items():
        arr = np.asarray(values, dtype=float)
        if arr.size:
            out[name] = {'mean': float(arr.mean()), 'p50': float(np.percentile(arr, 50)),
                         'p99': float(np.percentile(arr, 99))}
    return out


def fault_accounting(records: Sequence[RequestRecord]) -> dict:
    """
    Compare fallbacks with the fault timeline.

    ``required``: requests a fault must push to the fallback chain and how
    many were; ``forbidden``: requests no fault touched and how many still
    fell back for a fault-like reason (timeouts, stage errors);
    ``either``: requests at a window's edge or hit by a fault whose effect
    may go either way.
    """
    done = [r for r in records if r.answered]
    req = [r for r in done if r.fault_expect is True]
    forb = [r for r in done if r.fault_expect is False]
    either = [r for r in done if r.fault_expect is None]
    forb_fault = [r for r in forb if r.fault_handled]
    per_fault: dict = {}
    for r in done:
        if r.fault:
            d = per_fault.setdefault(r.fault, {'requests': 0, 'fallbacks': 0, 'required': 0,
                                               'required_fell_back': 0})
            d['requests'] += 1
            d['fallbacks'] += int(r.fault_handled)
            if r.fault_expect is True:
                d['required'] += 1
                d['required_fell_back'] += int(r.fault_handled)
            reasons = d.setdefault('reasons', Counter())
            reasons[r.reason_class or 'none'] += 1
    for d in per_fault.values():
        d['reasons'] = dict(d['reasons'])
    missed = [r for r in req if not r.fault_handled]
    return {
        'required': len(req), 'required_fell_back': len(req) - len(missed),
        'required_missed_reasons': dict(Counter(r.reason_class or 'none' for r in missed)),
        'forbidden': len(forb), 'forbidden_fault_fallbacks': len(forb_fault),
        'forbidden_fault_fallback_reasons': dict(Counter(r.reason_class for r in forb_fault)),
        'either': len(either), 'either_fell_back': sum(r.fault_handled for r in either),
        'matches_timeline': not missed and not forb_fault,
        'per_fault': per_fault,
    }


def summarize(records: Sequence[RequestRecord], wall_s: float, deadline_ms: float = 150.0,
              grace_ms: float = 10.0) -> dict:
    """
    Return the summary of one planner's records (the object written to summary.json).

    Latency percentiles are of the round trip the robot sees (``rtt``); the
    server's own totals are under ``server``.
    """
    records = list(records)
    done = [r for r in records if r.answered]
    rtt = [r.rtt_ms for r in done]
    out = {'sent': len(records), 'answered': len(done), 'lost': len(records) - len(done)}
    out.update(percentiles(rtt))
    out['throughput_hz'] = len(done) / wall_s if wall_s > 0 else float('nan')
    out['duration_s'] = wall_s
    out['invalid'] = sum(1 for r in done if r.valid is False)
    eligible = [r for r in done if r.exact is not None]
    out['exact_n'] = sum(1 for r in eligible if r.exact)
    out['exact_eligible'] = len(eligible)
    out['exact_ratio'] = _ratio(out['exact_n'], len(eligible))
    out['deadline_ms'] = deadline_ms
    out['slo_attainment'] = _ratio(sum(1 for r in done if r.rtt_ms <= deadline_ms),
                                   len(records))
    out['server_slo_met_ratio'] = _ratio(sum(1 for r in done if r.slo_met), len(done))
    out['misses_beyond_grace'] = sum(1 for r in done if r.rtt_ms > deadline_ms + grace_ms)
    out['server_misses_beyond_grace'] = sum(
        1 for r in done if math.isfinite(r.server_ms) and r.server_ms > deadline_ms + grace_ms)
    out['grace_ms'] = grace_ms
    known = [r for r in done if r.fallback_code is not None]  # matched to their PlanEvent
    out['fallback_ratio'] = _ratio(sum(1 for r in known if r.fallback), len(known))
    out['chain_ratio'] = _ratio(sum(1 for r in known if r.chain), len(known))
    out['refusal_ratio'] = _ratio(sum(1 for r in done if r.refused), len(done))
    out['refusals'] = dict(Counter(r.error_name for r in done if r.refused))
    out['fault_fallback_ratio'] = _ratio(sum(1 for r in done if r.fault_handled), len(done))
    out['cache_hit_ratio'] = _ratio(sum(1 for r in done if r.cache_hit), len(done))
    out['server'] = percentiles([r.server_ms for r in done])
    out['stages'] = stage_breakdown(records)
    out['sources'] = dict(Counter(r.source for r in done))
    out['fallback_reasons'] = dict(Counter(r.reason_class for r in done if r.fallback))
    out['exact_by_family'] = exact_by(eligible, 'family')
    if any(r.fault or r.fault_expect is not None for r in records):
        out['faults'] = fault_accounting(records)
    return out


def exact_by(records: Iterable[RequestRecord], key: str) -> dict:
    """Return exact-plan ratio grouped by a record attribute."""
    groups: dict = {}
    for r in records:
        g = groups.setdefault(getattr(r, key), [0, 0])
        g[0] += int(bool(r.exact))
        g[1] += 1
    return {k: round(v[0] / v[1], 4) for k, v in sorted(groups.items())}


def jsonable(obj):
    """Return ``obj`` with NaN/inf replaced by None (strict JSON)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return jsonable(obj.item())
    return obj
