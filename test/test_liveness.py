"""Liveness from the heartbeat: a dead planner is ERROR, an idle one OK (no ROS)."""

import pytest

from rag_planner.serving.latency_stats import (
    ERROR, EventSample, LatencyWindow, OK, STALE, WARN)
from rag_planner.serving.liveness import with_liveness


def summary(events=0):
    w = LatencyWindow(60.0)
    for i in range(events):
        w.add(EventSample(t=1.0 + i * 0.01, total_ms=10.0, slo_met=True, fallback=False,
                          cache_hit=False, error_code=0))
    return w.summary(2.0, 150.0, 130.0, 0.2)


def test_idle_alive_planner_is_ok_and_a_silent_one_error():
    assert summary().level == STALE                       # events alone: no events, STALE
    assert with_liveness(summary(), 0.4).level == OK      # idle but alive
    dead = with_liveness(summary(50), 3.5, 3.0)           # had traffic, heartbeat stopped
    assert dead.level == ERROR and 'died or hangs' in dead.message
    assert with_liveness(summary(50), 0.2).level == OK    # busy and alive: the events decide


def test_never_a_heartbeat_is_stale_and_bad_timeouts_are_refused():
    assert with_liveness(summary(), None).level == STALE
    assert 'no heartbeat' in with_liveness(summary(5), None).message
    with pytest.raises(ValueError):
        with_liveness(summary(), 1.0, 0.0)


def test_a_planner_that_is_not_active_warns_and_a_dead_one_stays_error():
    inactive = with_liveness(summary(), 0.3, 3.0, 'inactive')
    assert inactive.level == WARN and 'answers INACTIVE' in inactive.message
    assert with_liveness(summary(), 0.3, 3.0, 'unconfigured').level == WARN
    assert with_liveness(summary(), 0.3, 3.0, 'active').level == OK
    assert with_liveness(summary(), 4.0, 3.0, 'inactive').level == ERROR
