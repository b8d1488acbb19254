"""
Liveness of a planner from its heartbeat, combined with its latency summary.

The planner publishes a heartbeat at a fixed rate whether or not requests come
(``ros/plan_server.py``); the diagnostics node hands this module the time since the
last one.  Liveness is never inferred from request traffic (DESIGN.md, "Diagnostics"):

- no heartbeat within ``timeout_s``: ERROR, the planner died or hangs (its executor,
  which publishes the heartbeat, no longer runs);
- never a heartbeat: STALE (nothing known of the planner yet);
- a fresh heartbeat of a planner that is not active (lifecycle: unconfigured,
  inactive): at least WARN, as it answers every request INACTIVE;
- a fresh heartbeat and no events in the window: OK, idle;
- a fresh heartbeat and events: the latency summary's level.
"""

from __future__ import annotations

from dataclasses import replace
import math
from typing import Optional

from rag_planner.serving.latency_stats import ERROR, LatencySummary, OK, STALE, WARN

DEFAULT_TIMEOUT_S = 3.0  # Nav2's bond times out at 4 s


def with_liveness(summary: LatencySummary, heartbeat_age_s: Optional[float],
                  timeout_s: float = DEFAULT_TIMEOUT_S, state: str = '') -> LatencySummary:
    """
    Return ``summary`` with its level and message decided by the heartbeat first.

    ``state`` is the lifecycle state the heartbeat names ('' when it names none).
    """
    if not (isinstance(timeout_s, (int, float)) and math.isfinite(timeout_s)
            and timeout_s > 0):
        raise ValueError(f'timeout_s must be a positive number, got {timeout_s!r}')
    if heartbeat_age_s is None:
        if summary.count:
            return replace(summary, message=summary.message + ' (no heartbeat seen)')
        return replace(summary, level=STALE, message='no heartbeat and no events yet')
    if heartbeat_age_s > timeout_s:
        return replace(summary, level=ERROR,
                       message=f'no heartbeat for {heartbeat_age_s:.1f} s (timeout '
                               f'{timeout_s:g} s): the planner died or hangs')
    if state and state != 'active':
        level = summary.level if summary.level in (ERROR, WARN) else WARN
        return replace(summary, level=level, message=f'planner is {state}, not active '
                       f'(lifecycle): it answers INACTIVE; {summary.message}')
    if summary.count == 0:
        return replace(summary, level=OK, message='alive, idle (no requests in the window)')
    return summary


__all__ = ['DEFAULT_TIMEOUT_S', 'with_liveness']
