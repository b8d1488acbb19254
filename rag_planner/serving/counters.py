"""Running totals of the engine, changed by several threads under one lock."""

from dataclasses import dataclass, field, fields
import threading


@dataclass
class EngineCounters:
    """Running totals, for diagnostics and tests (read them with :meth:`snapshot`)."""

    requests: int = 0
    rejected: int = 0
    fallbacks: int = 0
    watchdog_answers: int = 0
    slo_misses: int = 0
    workers_replaced: int = 0
    stuck_workers: int = 0            # ever retired as stuck
    stuck_now: int = 0                # retired and still inside their stage
    late_results_dropped: int = 0
    disagreements: int = 0            # a valid learned plan differed from the rule plan
    late_on_arrival: int = 0          # taken past its deadline: the fallback chain answered
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, name: str, n: int = 1) -> int:
        """Add ``n`` to one counter; return its new value."""
        with self._lock:
            value = getattr(self, name) + n
            setattr(self, name, value)
            return value

    def snapshot(self) -> dict:
        """Return every counter at one instant."""
        with self._lock:
            return {f.name: getattr(self, f.name) for f in fields(self)
                    if not f.name.startswith('_')}
