"""Last-known safe plan of every robot, persisted so it survives a restart.

Writes are atomic (temporary file, fsync, rename, fsync of the folder): a
crash at any instant leaves either the old file or the new one, never a
half-written one. A file that cannot be read is set aside, not fatal.
"""

import json
import os
import threading
import time
from typing import Optional

from rag_planner.plan_grammar import format_plan, parse_plan, PlanParseError

FORMAT_VERSION = 1


class SafePlanStore:
    """Robot id -> last validated plan, mirrored to one JSON file."""

    def __init__(self, path: Optional[str]):
        self._path = path
        self._lock = threading.Lock()
        self._plans: dict = {}
        self.load_problem = ''
        if path:
            self._load()

    @property
    def path(self) -> Optional[str]:
        """The file the plans are persisted to (None = memory only)."""
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
        """The robot's last-known safe plan, or None."""
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
            if self._path:
                self._write_locked()

    def robots(self) -> dict:
        """A copy of the whole table."""
        with self._lock:
            return dict(self._plans)

    def _write_locked(self) -> None:
        doc = {'version': FORMAT_VERSION,
               'plans': {rid: format_plan(steps) for rid, steps in sorted(self._plans.items())}}
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
