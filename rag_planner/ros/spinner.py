"""A node's executor spinning on a background thread, stopped without races."""

from contextlib import contextmanager
import threading
import time

from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.experimental import EventsExecutor
from rclpy.node import Node


class Spinner:
    """
    Spin ``node`` on a daemon thread in short slices until ``shutdown()``.

    Why not ``executor.spin()`` on a thread: rclpy's ``Executor.shutdown()``
    destroys the executor's guard condition without waiting for the spinning
    thread, and destroying entities that a running wait set holds is unsafe
    (rclpy issues 260, 968). Here the thread is stopped and joined first, and
    ``paused()`` lets other threads create or destroy entities while no wait
    is in progress.
    """

    SLICE_S = 0.02

    def __init__(self, node: Node, name: str = 'spinner', executor: str = 'events'):
        """
        Spin ``node`` on an executor of its own, in a background thread.

        ``executor``: ``events`` (rclpy's EventsExecutor: a bench client at 100 plans/s
        spends less CPU beside the planner it measures) or ``single``.
        """
        self.node = node
        self.executor = EventsExecutor(context=node.context) if executor == 'events' else \
            SingleThreadedExecutor(context=node.context)
        self.executor.add_node(node)
        self._lock = threading.Lock()
        self._waiting = 0  # threads that asked for a pause
        self._waiting_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._spin, name=name, daemon=True)
        self._thread.start()

    def _spin(self) -> None:
        while not self._stop.is_set() and self.node.context.ok():
            with self._lock:
                try:
                    self.executor.spin_once(timeout_sec=self.SLICE_S)
                except (KeyboardInterrupt, ExternalShutdownException):
                    return
            if self._waiting:
                time.sleep(0.001)  # hand the lock to a thread in paused()

    @contextmanager
    def paused(self):
        """Hold the executor between two slices (for creating or destroying entities)."""
        with self._waiting_lock:
            self._waiting += 1
        try:
            with self._lock:
                yield
        finally:
            with self._waiting_lock:
                self._waiting -= 1

    def shutdown(self, timeout_s: float = 5.0) -> bool:
        """Stop and join the spinning thread, then the executor; True if it stopped in time."""
        self._stop.set()
        self._thread.join(timeout_s)
        stopped = not self._thread.is_alive()
        if stopped:
            self.executor.shutdown(timeout_sec=1.0)
        return stopped
