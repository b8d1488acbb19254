"""
When a request arrived, from the middleware's timestamp: the deadline counts from there.

A request can wait in the middleware's queue before the node's callback runs (200
requests at once on the topic: the server saw at most 148.5 ms, the client a median of
281 ms).  DDS stamps every sample and service request (system clock, nanoseconds); the
node turns that stamp into this process's monotonic clock.  A stamp from the future or
older than ``MAX_QUEUE_AGE_S`` is not trusted (another machine's clock, a clock step):
the request then counts from the callback, as before.
"""

from __future__ import annotations

from typing import Optional

MAX_QUEUE_AGE_S = 5.0


def arrival_monotonic(stamp_ns: Optional[int], now_ns: int, now_monotonic: float,
                      max_age_s: float = MAX_QUEUE_AGE_S) -> float:
    """Return the monotonic time of arrival of a request stamped ``stamp_ns``."""
    if not isinstance(stamp_ns, int) or isinstance(stamp_ns, bool) or stamp_ns <= 0:
        return now_monotonic
    age_s = (now_ns - stamp_ns) / 1e9
    if not 0.0 <= age_s <= max_age_s:
        return now_monotonic
    return now_monotonic - age_s


__all__ = ['arrival_monotonic', 'MAX_QUEUE_AGE_S']
