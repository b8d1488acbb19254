"""
The watchdog: one thread that keeps every request's next deadline in a heap.

It sleeps on a condition variable until the earliest deadline of any request
in flight (no polling period; answered requests are dropped, not woken for),
hands each due request to ``on_due`` and, at
least every ``tick_s``, calls ``on_tick`` (the engine retires stuck workers
there). It never runs a stage itself, so it is never the thing that is late.
"""

import heapq
import threading
import time
from typing import Callable

from rag_planner.serving.pending import Pending


class Watchdog:
    """Deadline heap + thread; ``arm(pending, at)`` asks for ``on_due(pending, now, at)``."""

    def __init__(self, on_due: Callable[[Pending, float, float], None],
                 on_tick: Callable[[], None], tick_s: float = 0.05):
        """Start the thread."""
        self._on_due = on_due
        self._on_tick = on_tick
        self._tick_s = tick_s
        self._cond = threading.Condition()
        self._heap: list = []
        self._closed = False
        self._thread = threading.Thread(target=self._watch, name='plan-watchdog', daemon=True)
        self._thread.start()

    def arm(self, pending: Pending, at: float) -> None:
        """Call ``on_due`` for ``pending`` once the steady clock reaches ``at``."""
        with self._cond:
            # The thread sleeps until no later than the heap's earliest entry: a later
            # deadline needs no wake-up (one per request was a third of its CPU).
            wake = not self._heap or at < self._heap[0][0]
            heapq.heappush(self._heap, (at, pending.seq, pending))
            if wake:
                self._cond.notify()

    def close(self) -> None:
        """Stop the thread."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _watch(self) -> None:
        while not self._closed:
            with self._cond:
                now = time.monotonic()
                due = []
                # answered requests leave the heap as they reach its top, so the thread
                # sleeps until the earliest deadline of a request still in flight
                while self._heap and (self._heap[0][0] <= now or self._heap[0][2].answered):
                    at, _, pending = heapq.heappop(self._heap)
                    if not pending.answered:
                        due.append((at, pending))
                if not due:
                    timeout = (self._heap[0][0] - now) if self._heap else self._tick_s
                    self._cond.wait(min(timeout, self._tick_s))
            for at, pending in due:
                self._on_due(pending, now, at)
            self._on_tick()
