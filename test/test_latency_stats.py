"""Sliding-window statistics and the diagnostics levels, without ROS."""

import math

import pytest

from rag_planner.serving.latency_stats import ERROR, EventSample, LatencyWindow, OK, STALE, WARN


def window_with(latencies, fallback_every=0, t0=100.0):
    window = LatencyWindow(window_s=60.0)
    for i, ms in enumerate(latencies):
        window.add(EventSample(t0 + i * 0.01, ms, ms <= 150.0,
                               bool(fallback_every) and i % fallback_every == 0, i % 2 == 0))
    return window


def test_percentiles_ratios_and_ok():
    summary = window_with([float(i) for i in range(1, 101)]).summary(102.0, 150, 130, 0.2)
    assert summary.level == OK and summary.count == 100
    assert summary.p50_ms == pytest.approx(50.5) and summary.max_ms == 100.0
    assert summary.p50_ms <= summary.p95_ms <= summary.p99_ms <= summary.max_ms
    assert summary.slo_met_ratio == 1.0 and summary.cache_hit_ratio == 0.5
    assert dict(summary.key_values())['count'] == '100'


def test_levels_warn_error_stale():
    assert window_with([140.0] * 100).summary(102.0, 150, 130, 0.2).level == WARN
    assert window_with([10.0] * 90 + [200.0] * 10).summary(102.0, 150, 130, 0.2).level == ERROR
    assert window_with([5.0] * 100, fallback_every=2).summary(102.0, 150, 130, 0.2).level \
        == ERROR
    stale = window_with([5.0] * 10).summary(1000.0, 150, 130, 0.2)
    assert stale.level == STALE and stale.count == 0 and math.isnan(stale.p50_ms)


def test_window_forgets_old_events():
    window = window_with([5.0] * 10, t0=0.0)
    window.add(EventSample(100.0, 7.0, True, False, False))
    summary = window.summary(100.0, 150, 130, 0.2)
    assert summary.count == 1 and summary.max_ms == 7.0
    with pytest.raises(ValueError):
        LatencyWindow(window_s=0)
