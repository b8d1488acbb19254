"""Sliding-window latency statistics and the diagnostics levels of DESIGN.md."""

from collections import deque
from dataclasses import dataclass
import math
from typing import Sequence

import numpy as np

from rag_planner.domain.answers import ErrorCode

OK, WARN, ERROR, STALE = 'OK', 'WARN', 'ERROR', 'STALE'


@dataclass(frozen=True)
class EventSample:
    """The part of a PlanEvent the statistics need."""

    t: float              # arrival time, seconds (any monotonic clock)
    total_ms: float
    slo_met: bool
    fallback: bool
    cache_hit: bool
    error_code: int = 0   # GetPlan's code of the answer (0 = NONE)


@dataclass(frozen=True)
class LatencySummary:
    """What one planner's DiagnosticStatus reports."""

    level: str
    message: str
    count: int
    window_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    slo_ms: float
    slo_met_ratio: float
    fallback_ratio: float
    cache_hit_ratio: float
    refusal_ratio: float = float('nan')
    refusals: tuple = ()  # (code name, count) for every code but NONE

    def key_values(self) -> list:
        """(key, value-as-text) pairs in the documented order."""
        def num(x: float) -> str:
            return 'nan' if math.isnan(x) else f'{x:.3f}'
        return [('p50_ms', num(self.p50_ms)), ('p95_ms', num(self.p95_ms)),
                ('p99_ms', num(self.p99_ms)), ('max_ms', num(self.max_ms)),
                ('count', str(self.count)), ('window_s', f'{self.window_s:g}'),
                ('slo_ms', f'{self.slo_ms:g}'), ('slo_met_ratio', num(self.slo_met_ratio)),
                ('fallback_ratio', num(self.fallback_ratio)),
                ('cache_hit_ratio', num(self.cache_hit_ratio)),
                ('refusal_ratio', num(self.refusal_ratio))] + \
            [(f'refused_{name}', str(count)) for name, count in self.refusals]


class LatencyWindow:
    """Events of the last ``window_s`` seconds (at most ``max_events``)."""

    def __init__(self, window_s: float = 60.0, max_events: int = 100_000):
        if not window_s > 0:
            raise ValueError(f'window_s must be > 0, got {window_s!r}')
        self.window_s = float(window_s)
        self._events: deque = deque(maxlen=max_events)

    def add(self, sample: EventSample) -> None:
        """Record one answered request."""
        self._events.append(sample)

    def prune(self, now: float) -> None:
        """Forget events older than the window."""
        horizon = now - self.window_s
        while self._events and self._events[0].t < horizon:
            self._events.popleft()

    def summary(self, now: float, slo_ms: float, warn_ms: float,
                max_fallback_ratio: float) -> LatencySummary:
        """Percentiles, ratios and level of the events in the window."""
        self.prune(now)
        n = len(self._events)
        if n == 0:
            nan = float('nan')
            return LatencySummary(STALE, 'no events in the window', 0, self.window_s,
                                  nan, nan, nan, nan, slo_ms, nan, nan, nan, nan,
                                  refusal_counts(()))
        lat = np.fromiter((e.total_ms for e in self._events), dtype=np.float64, count=n)
        p50, p95, p99 = (float(v) for v in np.percentile(lat, [50, 95, 99]))
        slo_ratio = sum(e.slo_met for e in self._events) / n
        fb_ratio = sum(e.fallback for e in self._events) / n
        hit_ratio = sum(e.cache_hit for e in self._events) / n
        refused = sum(1 for e in self._events if e.error_code)
        level, message = classify(p95, p99, fb_ratio, slo_ms, warn_ms, max_fallback_ratio)
        return LatencySummary(level, message, n, self.window_s, p50, p95, p99,
                              float(lat.max()), slo_ms, slo_ratio, fb_ratio, hit_ratio,
                              refused / n, refusal_counts(e.error_code for e in self._events))


def percentiles(values: Sequence[float]) -> dict:
    """Return p50/p95/p99/max/mean of finite values (NaN when there are none)."""
    arr = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    if arr.size == 0:
        nan = float('nan')
        return {'p50_ms': nan, 'p95_ms': nan, 'p99_ms': nan, 'max_ms': nan, 'mean_ms': nan}
    out = {f'p{q}_ms': float(np.percentile(arr, q)) for q in (50, 95, 99)}
    out['max_ms'] = float(arr.max())
    out['mean_ms'] = float(arr.mean())
    return out


def refusal_counts(codes) -> tuple:
    """Return (name, count) of every GetPlan code but NONE, zeros included."""
    counts = {code: 0 for code in ErrorCode if code != ErrorCode.NONE}
    for code in codes:
        if code:
            counts[ErrorCode(code)] = counts.get(ErrorCode(code), 0) + 1
    return tuple((code.name, n) for code, n in counts.items())


def classify(p95: float, p99: float, fallback_ratio: float, slo_ms: float, warn_ms: float,
             max_fallback_ratio: float) -> tuple:
    """Return (level, message) by the rules of DESIGN.md "Diagnostics"."""
    problems: list = []
    level = OK
    if p99 > slo_ms:
        problems.append(f'p99 {p99:.1f} ms above the SLO {slo_ms:g} ms')
        level = ERROR
    if fallback_ratio > max_fallback_ratio:
        problems.append(f'fallback ratio {fallback_ratio:.2f} above {max_fallback_ratio:g}')
        level = ERROR
    if level == OK and p95 > warn_ms:
        problems.append(f'p95 {p95:.1f} ms above warn_ms {warn_ms:g}')
        level = WARN
    return level, '; '.join(problems) if problems else 'planner healthy'
