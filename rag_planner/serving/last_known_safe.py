"""
Last-known safe plan of every robot for every task, persisted so it survives a restart.

Plans are kept per robot *and* per task (``task_key`` of the text): a retry of the same
task may get it back, a different task never does. At most ``max_tasks_per_robot`` tasks
per robot and ``max_robots`` robots (least recently put evicted first), and a file of at
most ``max_bytes``. File, oldest robot and oldest task first::

    {"version": 2, "plans": {"<robot_id>": {"<task key>": "NAVIGATE A12-03; ..."}}}

Writes are atomic (temporary file, fsync, rename, fsync of the folder) and happen on a
background thread that coalesces bursts, so answering never waits for a disk. A file
that cannot be used (oversized, version 1, unreadable) is set aside, never fatal.
"""

from collections import OrderedDict
import contextlib
import json
import os
import threading
import time
from typing import NamedTuple, Optional

from rag_planner.domain.plan_grammar import format_plan, parse_plan, PlanParseError, Step
from rag_planner.domain.request import task_key

FORMAT_VERSION = 2
# The most steps the safety config allows; the validator re-checks every served plan.
_LOAD_MAX_STEPS = 256
_RETRY_S = 5.0
_SEPARATORS = (',', ':')
_HEADER_BYTES = len(json.dumps({'version': FORMAT_VERSION, 'plans': {}}, separators=_SEPARATORS))


class _Entry(NamedTuple):
    steps: tuple
    text: str
    cost: int  # bytes the entry takes in the file, separator included (an upper bound)


def _entry(key: str, steps: tuple) -> _Entry:
    text = format_plan(steps)
    return _Entry(steps, text, len(json.dumps(key)) + len(json.dumps(text)) + 2)


class SafePlanStore:
    """(robot id, task key) -> last validated plan, mirrored to one JSON file."""

    def __init__(self, path: Optional[str], max_tasks_per_robot: int = 32,
                 max_robots: int = 4096, max_bytes: int = 4 * 1024 * 1024,
                 min_write_interval_s: float = 0.5):
        """Load ``path`` (None: memory only); writes are spaced by ``min_write_interval_s``."""
        if max_tasks_per_robot < 1 or max_robots < 1 or max_bytes < 256:
            raise ValueError('need max_tasks_per_robot, max_robots >= 1 and max_bytes >= 256')
        self._path = os.fspath(path) if path else None
        self._max_tasks = int(max_tasks_per_robot)
        self._max_robots = int(max_robots)
        self._max_bytes = int(max_bytes)
        self._interval = max(0.0, float(min_write_interval_s))
        self._cond = threading.Condition(threading.Lock())
        self._plans: OrderedDict = OrderedDict()  # robot -> OrderedDict(task key -> _Entry)
        self._bytes = _HEADER_BYTES
        self.load_problem = ''
        self.write_problem = ''
        self._version = 0  # bumped by every change
        self._attempted = 0  # version of the last write attempt
        self._written = 0  # version of the last successful write
        self._urgent = 0  # flushes waiting
        self._closed = False
        self._writer = None
        self._chunks: dict = {}  # the writer's: robot -> (task table, its JSON)
        if self._path:
            self._load()
            self._writer = threading.Thread(target=self._write_loop, name='safe-plan-writer',
                                            daemon=True)
            self._writer.start()

    @property
    def path(self) -> Optional[str]:
        """Return the file the plans are persisted to (None = memory only)."""
        return self._path

    def get(self, robot_id: str, task: str) -> Optional[tuple]:
        """Return the plan last put for this robot and the same task, or None."""
        if not isinstance(robot_id, str) or not robot_id or not isinstance(task, str):
            return None
        key = task_key(task)
        with self._cond:
            tasks = self._plans.get(robot_id)
            entry = tasks.get(key) if tasks is not None else None
        return entry.steps if entry is not None else None

    def put(self, robot_id: str, task: str, steps: tuple) -> None:
        """Remember a validated plan of ``robot_id`` for ``task``; the writer persists it."""
        if not isinstance(robot_id, str) or not robot_id or not isinstance(task, str):
            return
        key = task_key(task)
        steps = tuple(steps)
        if not key or not steps or not all(isinstance(s, Step) for s in steps):
            return
        entry = _entry(key, steps)
        with self._cond:
            tasks = self._plans.get(robot_id)
            if (tasks is not None and next(reversed(self._plans)) == robot_id
                    and next(reversed(tasks)) == key and tasks[key].text == entry.text):
                return  # already the newest entry: nothing to write
            self._insert(robot_id, key, entry)
            self._version += 1
            if self._version == self._attempted + 1:
                # the writer was idle: it has a write to schedule.  Else it is already
                # due at its next interval, and waking it per plan only costs CPU.
                self._cond.notify_all()

    def _insert(self, robot_id: str, key: str, entry: _Entry) -> None:
        """Put ``entry`` last and evict the oldest beyond the bounds (lock held)."""
        # A robot's task table is replaced, never changed, so the writer can read a
        # snapshot of references outside the lock (and reuse what did not change).
        old_tasks = self._plans.pop(robot_id, None)
        if old_tasks is None:
            self._bytes += len(json.dumps(robot_id)) + 4
        tasks = OrderedDict(old_tasks or ())
        old = tasks.pop(key, None)
        self._bytes += entry.cost - (old.cost if old is not None else 0)
        tasks[key] = entry
        while len(tasks) > self._max_tasks:
            self._bytes -= tasks.popitem(last=False)[1].cost
        self._plans[robot_id] = tasks
        while len(self._plans) > self._max_robots:
            self._drop_robot(next(iter(self._plans)))
        while self._bytes > self._max_bytes and self._plans:
            oldest_robot, oldest = next(iter(self._plans.items()))
            self._plans[oldest_robot] = oldest = OrderedDict(oldest)
            self._bytes -= oldest.popitem(last=False)[1].cost
            if not oldest:
                self._drop_robot(oldest_robot)

    def _drop_robot(self, robot_id: str) -> None:
        tasks = self._plans.pop(robot_id)
        self._bytes -= len(json.dumps(robot_id)) + 4 + sum(e.cost for e in tasks.values())

    def snapshot(self) -> dict:
        """Return a copy of the table: robot id -> {task key: steps}, oldest first."""
        with self._cond:
            return {rid: {key: e.steps for key, e in tasks.items()}
                    for rid, tasks in self._plans.items()}

    def _load(self) -> None:
        """Read the file; set it aside when it cannot be used (never raises)."""
        try:
            size = os.stat(self._path).st_size
        except FileNotFoundError:
            return
        except OSError as exc:
            self.load_problem = f'last-known safe plans: cannot look at {self._path} ({exc})'
            return
        try:
            if size > self._max_bytes:
                return self._set_aside('oversized', f'is {size} bytes, over max_bytes '
                                       f'{self._max_bytes} (not read)')
            with open(self._path, 'rb') as f:
                data = f.read(self._max_bytes + 1)
            if len(data) > self._max_bytes:
                raise ValueError(f'grew past max_bytes {self._max_bytes} while read')
            doc = json.loads(data.decode('utf-8'))
            version = doc.get('version') if isinstance(doc, dict) else None
            if type(version) is int and version == 1:
                return self._set_aside('v1', 'is a version 1 file (plans not tied to a task '
                                       'cannot be migrated); none of its plans is served')
            if type(version) is not int or version != FORMAT_VERSION:
                raise ValueError(f'unknown format version {version!r}')
            plans = doc.get('plans')
            if not isinstance(plans, dict):
                raise ValueError('"plans" is not an object')
        except Exception as exc:  # noqa: B902 - any failure to read sets the file aside
            return self._set_aside('unreadable', f'is unreadable ({exc})')
        dropped, first = 0, ''
        for robot_id, tasks in plans.items():
            items = tasks.items() if isinstance(tasks, dict) and robot_id else [(None, None)]
            for key, text in items:
                try:
                    if not robot_id or not isinstance(key, str) or not isinstance(text, str):
                        raise ValueError('not a robot id -> {task: plan} entry')
                    norm = task_key(key)
                    if not norm:
                        raise ValueError('empty task key')
                    steps = tuple(parse_plan(text, max_steps=_LOAD_MAX_STEPS))
                except (ValueError, PlanParseError) as exc:
                    dropped += 1
                    first = first or f'robot {robot_id!r} task {str(key)[:60]!r}: {exc}'
                    continue
                self._insert(robot_id, norm, _entry(norm, steps))
        if dropped:
            kept = sum(len(t) for t in self._plans.values())
            self.load_problem = (f'last-known safe plans in {self._path}: dropped {dropped} '
                                 f'unparseable entr{"y" if dropped == 1 else "ies"}, kept '
                                 f'{kept} (first dropped: {first})')

    def _set_aside(self, tag: str, why: str) -> None:
        aside = base = f'{self._path}.{tag}-{int(time.time())}'
        for n in range(1, 1000):
            if not os.path.lexists(aside):
                break
            aside = f'{base}-{n}'
        try:
            os.replace(self._path, aside)
            where = f'set aside as {aside}'
        except OSError as exc:
            where = f'could not be set aside ({exc}); the next write replaces it'
        self.load_problem = f'last-known safe plans: {self._path} {why}; {where}'

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until everything put so far is on disk; False on timeout or write failure."""
        if self._writer is None:
            return True
        end = time.monotonic() + timeout_s
        with self._cond:
            target = self._version
            self._urgent += 1
            self._cond.notify_all()
            try:
                while self._attempted < target:
                    left = end - time.monotonic()
                    if left <= 0 or not self._writer.is_alive():
                        return False
                    self._cond.wait(left)
                return self._written >= target
            finally:
                self._urgent -= 1

    def close(self, timeout_s: float = 5.0) -> None:
        """Flush and stop the writer (puts afterwards stay in memory only)."""
        self.flush(timeout_s)
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._writer is not None and self._writer is not threading.current_thread():
            self._writer.join(timeout_s)

    def _write_loop(self) -> None:
        next_ok = retry_at = 0.0
        while True:
            with self._cond:
                while True:
                    now = time.monotonic()
                    if self._closed and self._attempted >= self._version:
                        return
                    if self._version > self._attempted:
                        due = now if (self._urgent or self._closed) else next_ok
                    elif self._version > self._written:
                        due = retry_at  # the last write failed: try again later
                    else:
                        due = None
                    if due is not None and now >= due:
                        break
                    self._cond.wait(None if due is None else due - now)
                version = self._version
                robots = list(self._plans.items())
            problem = ''
            try:
                self._write(robots)
            except Exception as exc:  # noqa: B902 - a write failure must not end the writer
                problem = f'cannot write {self._path}: {exc}'
            with self._cond:
                self._attempted = version
                if not problem:
                    self._written = version
                self.write_problem = problem
                next_ok = time.monotonic() + self._interval
                retry_at = time.monotonic() + _RETRY_S
                self._cond.notify_all()

    def _write(self, robots: list) -> None:
        # One small dumps per changed robot (a single 4 MB dumps holds the GIL for ~40 ms).
        done, self._chunks = self._chunks, {}
        for rid, tasks in robots:
            old = done.get(rid)
            self._chunks[rid] = old if old is not None and old[0] is tasks else (
                tasks, json.dumps(rid) + ':' + json.dumps(
                    {key: e.text for key, e in tasks.items()}, separators=_SEPARATORS))
        data = ('{"version":%d,"plans":{%s}}' % (FORMAT_VERSION, ','.join(
            chunk for _, chunk in self._chunks.values()))).encode('ascii')
        if len(data) > self._max_bytes:  # the accounting of put() makes this unreachable
            raise ValueError(f'{len(data)} bytes would exceed max_bytes {self._max_bytes}')
        folder = os.path.dirname(os.path.abspath(self._path))
        os.makedirs(folder, exist_ok=True)
        tmp = f'{self._path}.tmp-{os.getpid()}'
        try:
            with open(tmp, 'wb') as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self._path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
