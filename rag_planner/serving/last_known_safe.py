"""
Last-known safe plan of every robot, persisted so it survives a restart.

Writes are atomic (temporary file, fsync, rename, fsync of the folder): a
crash at any instant leaves either the old file or the new one, never a
half-written one. A file that cannot be read is set aside, not fatal. Writes happen on a
background thread that coalesces bursts, so answering never waits for a disk.
"""

import json
import os
import threading
import time
from typing import Optional

from rag_planner.domain.plan_grammar import format_plan, parse_plan, PlanParseError

FORMAT_VERSION = 1


class SafePlanStore:
    """Robot id -> last validated plan, mirrored to one JSON file."""

    def __init__(self, path: Optional[str]):
        self._path = path
        self._lock = threading.Lock()
        self._plans: dict = {}
        self.load_problem = ''
        self.write_problem = ''
        self._dirty = threading.Condition(self._lock)
        self._version = 0
        self._written = 0
        self._closed = False
        if path:
            self._load()
            self._writer = threading.Thread(target=self._write_loop, name='safe-plan-writer',
                                            daemon=True)
            self._writer.start()

    @property
    def path(self) -> Optional[str]:
        """Return the file the plans are persisted to (None = memory only)."""
        return self._path

    def _load(self) -> None:
        if not os.path.exists(self._path):
            return
        try:
            with open(self._path, 'r', encoding='utf-8') as f:
                doc = json.load(f)
            if doc.get('version') != FORMAT_VERSION:
                raise ValueError(f'unknown format version {doc.get("version")!r}')
            plans = {}
            for robot_id, text in doc['plans'].items():
                plans[str(robot_id)] = tuple(parse_plan(text))
            self._plans = plans
        except (OSError, ValueError, KeyError, TypeError, AttributeError,
                PlanParseError) as exc:
            aside = f'{self._path}.unreadable-{int(time.time())}'
            try:
                os.replace(self._path, aside)
            except OSError:
                aside = '(could not be moved)'
            self.load_problem = (f'last-known safe plans in {self._path} unreadable ({exc}); '
                                 f'set aside as {aside}')

    def get(self, robot_id: str) -> Optional[tuple]:
        """Return the robot's last-known safe plan, or None."""
        with self._lock:
            return self._plans.get(robot_id)

    def put(self, robot_id: str, steps: tuple) -> None:
        """Remember a validated plan and persist the whole table atomically."""
        if not robot_id:
            return
        steps = tuple(steps)
        with self._lock:
            if self._plans.get(robot_id) == steps:
                return
            self._plans[robot_id] = steps
            self._version += 1
            self._dirty.notify()

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until everything put so far is on disk; False on timeout."""
        if not self._path:
            return True
        end = time.monotonic() + timeout_s
        with self._lock:
            while self._written < self._version:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._dirty.wait(left)
        return True

    def close(self) -> None:
        """Flush and stop the writer."""
        self.flush()
        with self._lock:
            self._closed = True
            self._dirty.notify_all()

    def _write_loop(self) -> None:
        while True:
            with self._lock:
                while not self._closed and self._written >= self._version:
                    self._dirty.wait(1.0)
                if self._written >= self._version:
                    return
                version, snapshot = self._version, dict(self._plans)
            problem = ''
            try:
                self._write(snapshot)
            except OSError as exc:
                problem = f'cannot write {self._path}: {exc}'
            with self._lock:
                self.write_problem = problem
                self._written = version
                self._dirty.notify_all()

    def robots(self) -> dict:
        """Return a copy of the whole table."""
        with self._lock:
            return dict(self._plans)

    def _write(self, plans: dict) -> None:
        doc = {'version': FORMAT_VERSION,
               'plans': {rid: format_plan(steps) for rid, steps in sorted(plans.items())}}
        folder = os.path.dirname(os.path.abspath(self._path))
        os.makedirs(folder, exist_ok=True)
        tmp = f'{self._path}.tmp-{os.getpid()}-{threading.get_ident()}'
        with open(tmp, 'w', encoding='utf-8') as f:
            json.dump(doc, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self._path)
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
