"""bench_sweep's capacity: the highest throughput that serves well (p99, fallbacks, lost)."""

from rag_planner.sim.bench_sweep import capacity


def _row(hz, p99, fallbacks=0.0, lost=0):
    return {'throughput_hz': hz, 'p99_ms': p99, 'fallback_ratio': fallbacks, 'lost': lost}


def test_capacity_is_the_highest_load_within_the_criteria():
    rows = [_row(20, 12), _row(50, 31), _row(100, 48, 0.02), _row(150, 220), _row(60, 40,
                                                                                  lost=1)]
    assert capacity(rows, 50.0, 0.01) == 50           # 100/s has 2 % fallbacks, 60/s lost one
    assert capacity(rows, 50.0, 0.05) == 100
    assert capacity([_row(20, 80)], 50.0, 0.01) is None
    assert capacity([_row(20, None)], 50.0, 0.01) is None
