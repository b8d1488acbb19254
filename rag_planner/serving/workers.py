"""
Worker threads that run the primary path, and the retirement of stuck ones.

A worker takes a request from the queue and runs it to the end. A stage
stuck inside onnxruntime or hnswlib cannot be interrupted from Python, so a
worker that stays on one request far past its deadline is *retired*: it is
left to finish on its own and a fresh worker takes its place (up to
``max_stuck`` retired workers at a time). When a retired worker returns it
exits, and the pool is refilled to its size.
"""

import itertools
import queue
import threading
import time
from typing import Callable, Optional

from rag_planner.serving.counters import EngineCounters
from rag_planner.serving.pending import Pending


class _Worker:
    __slots__ = ('thread', 'current', 'started', 'retired')

    def __init__(self):
        self.thread: Optional[threading.Thread] = None
        self.current: Optional[Pending] = None
        self.started = 0.0
        self.retired = False


class WorkerPool:
    """``size`` threads calling ``run(pending)``; ``on_crash(pending, exc)`` if it raises."""

    def __init__(self, size: int, run: Callable[[Pending], None],
                 on_crash: Callable[[Pending, BaseException], None],
                 counters: EngineCounters, on_retired: Callable[[str], None],
                 on_notice: Callable[[str], None]):
        """Start ``size`` workers."""
        self._size = size
        self._run = run
        self._on_crash = on_crash
        self._counters = counters
        self._on_retired = on_retired
        self._on_notice = on_notice
        self._queue: queue.Queue = queue.Queue()
        self._workers: list = []
        self._lock = threading.Lock()
        self._names = itertools.count()
        self._closed = False
        for _ in range(size):
            self._spawn()

    def put(self, pending: Pending) -> None:
        """Queue a request for the next free worker."""
        self._queue.put(pending)

    def queued(self) -> int:
        """Return how many requests wait for a worker."""
        return self._queue.qsize()

    def live(self) -> int:
        """Return the workers that are not retired."""
        with self._lock:
            return sum(1 for w in self._workers if not w.retired)

    def close(self) -> None:
        """Let every worker exit once it is free."""
        self._closed = True
        with self._lock:
            n = len(self._workers)
        for _ in range(n):
            self._queue.put(None)

    def retire_stuck(self, limit_s: float, max_stuck: int) -> None:
        """Retire workers busy on one request for ``limit_s`` or more; replace them."""
        now = time.monotonic()
        with self._lock:
            workers = list(self._workers)
        for worker in workers:
            current = worker.current
            if worker.retired or current is None or now - worker.started < limit_s:
                continue
            worker.retired = True
            self._counters.add('stuck_workers')
            stuck_now = self._counters.add('stuck_now')
            msg = (f'{worker.thread.name} stuck for {now - worker.started:.1f} s in '
                   f'{current.stage}; retired')
            if stuck_now <= max_stuck:
                self._spawn()
                self._counters.add('workers_replaced')
                msg += ' and replaced'
            else:
                msg += ' (max_stuck_workers reached: not replaced)'
            self._on_retired(msg)

    def _spawn(self) -> None:
        worker = _Worker()
        worker.thread = threading.Thread(target=self._work, args=(worker,),
                                         name=f'plan-worker-{next(self._names)}', daemon=True)
        with self._lock:
            self._workers.append(worker)
        worker.thread.start()

    def _work(self, worker: _Worker) -> None:
        while not self._closed and not worker.retired:
            pending = self._queue.get()
            if pending is None:
                return
            if pending.answered:
                continue
            worker.current, worker.started = pending, time.monotonic()
            try:
                self._run(pending)
            except Exception as exc:  # noqa: B902 - a stage may raise anything
                self._on_crash(pending, exc)
            finally:
                worker.current = None
        if worker.retired:
            self._counters.add('stuck_now', -1)
            with self._lock:
                self._workers.remove(worker)
            missing = 0 if self._closed else self._size - self.live()
            for _ in range(max(0, missing)):
                self._spawn()
            self._on_notice(f'{worker.thread.name} returned after being retired; exiting'
                            + (f', {missing} worker(s) started' if missing > 0 else ''))
