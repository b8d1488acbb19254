"""Incident log: one JSON line per fallback or SLO miss, rotated by size."""

import json
import os
import threading
import time
from typing import Optional


class IncidentLog:
    """Append-only JSON-lines file; ``path.1`` .. ``path.<keep>`` hold older lines."""

    def __init__(self, path: Optional[str], max_bytes: int = 5_000_000, keep: int = 3):
        self._path = path
        self._max_bytes = max_bytes
        self._keep = keep
        self._lock = threading.Lock()
        self.write_errors = 0
        if path:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)

    @property
    def path(self) -> Optional[str]:
        """Return the current log file (None = disabled)."""
        return self._path

    def append(self, record: dict) -> None:
        """Write one record (a wall-clock time is added); never raises."""
        if not self._path:
            return
        line = json.dumps({'time': time.time(), **record}, default=str) + '\n'
        with self._lock:
            try:
                if os.path.exists(self._path) and \
                        os.path.getsize(self._path) + len(line) > self._max_bytes:
                    self._rotate()
                with open(self._path, 'a', encoding='utf-8') as f:
                    f.write(line)
            except OSError:
                self.write_errors += 1

    def _rotate(self) -> None:
        for i in range(self._keep - 1, 0, -1):
            src = f'{self._path}.{i}'
            if os.path.exists(src):
                os.replace(src, f'{self._path}.{i + 1}')
        os.replace(self._path, f'{self._path}.1')
