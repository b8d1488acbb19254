"""The deadline counts from the request's arrival stamp, when the stamp can be trusted."""

from rag_planner.serving.arrival import arrival_monotonic, MAX_QUEUE_AGE_S


def test_a_queued_request_counts_from_its_stamp():
    now_ns, mono = 1_000_000_000_000, 500.0
    assert arrival_monotonic(now_ns - 250_000_000, now_ns, mono) == 500.0 - 0.25


def test_stamps_that_cannot_be_trusted_count_from_now():
    now_ns, mono = 1_000_000_000_000, 500.0
    for stamp in (None, 0, -5, True, now_ns + 10_000_000,                  # none, future
                  now_ns - int((MAX_QUEUE_AGE_S + 1) * 1e9), 1.5e18):     # too old, float
        assert arrival_monotonic(stamp, now_ns, mono) == mono, stamp
