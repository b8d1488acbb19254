"""
Planner server processes for benchmarks, and their memory over time.

:class:`PlannerProcess` runs ``python -m rag_planner.ros.plan_server`` in its
own process (own namespace, own state folder, isolated ROS domain taken
from the environment); :class:`RssSampler` records the resident memory and
CPU of a set of processes on a background thread.
"""

from dataclasses import dataclass, field
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Mapping, Optional, Sequence

import psutil


@dataclass
class PlannerProcess:
    """One plan_server process."""

    namespace: str                    # e.g. /bench_pipeline
    params: Mapping[str, object]      # ROS parameters (-p name:=value)
    log_path: str
    extra_args: Sequence[str] = ()
    module: str = 'rag_planner.ros.plan_server'
    proc: Optional[subprocess.Popen] = None
    _log: object = field(default=None, repr=False)

    @property
    def node_name(self) -> str:
        """Fully qualified node name."""
        ns = self.namespace.rstrip('/')
        return f'{ns}/rag_planner'

    def command(self) -> list:
        """Return the command line that starts the server."""
        args = [sys.executable, '-m', self.module, '--ros-args',
                '-r', f'__ns:={self.namespace}']
        # the simulator and the bench inject faults (fault timelines): allowed here only
        params = {'allow_fault_injection': True, **self.params}
        for name, value in params.items():
            if isinstance(value, bool):
                value = 'true' if value else 'false'
            args += ['-p', f'{name}:={value}']
        return args + list(self.extra_args)

    def start(self, env: Optional[Mapping[str, str]] = None) -> 'PlannerProcess':
        """Start the process (stdout and stderr go to ``log_path``)."""
        self._log = open(self.log_path, 'w')
        self.proc = subprocess.Popen(self.command(), stdout=self._log, stderr=subprocess.STDOUT,
                                     env=dict(env) if env is not None else None)
        return self

    @property
    def pid(self) -> Optional[int]:
        """Process id (None before start)."""
        return self.proc.pid if self.proc is not None else None

    def alive(self) -> bool:
        """Return True while the process runs."""
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        """Return what the server printed so far."""
        if self._log is not None:
            self._log.flush()
        try:
            with open(self.log_path, 'r', encoding='utf-8', errors='replace') as f:
                return f.read()
        except OSError:
            return ''

    def wait_ready(self, timeout_s: float) -> bool:
        """Wait until the server logs ``ready:``; False on timeout or exit."""
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            if 'ready:' in self.log():
                return True
            if not self.alive():
                return False
            time.sleep(0.1)
        return False

    def stop(self, timeout_s: float = 10.0) -> Optional[int]:
        """SIGINT, then SIGKILL after ``timeout_s``; return the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
        return self.proc.returncode


class RssSampler:
    """Samples RSS and CPU% of named processes every ``period_s`` seconds."""

    def __init__(self, period_s: float = 0.5, on_sample=None):
        self.period_s = period_s
        self.samples: dict = {}        # label -> list of (t, rss bytes, cpu percent)
        self._procs: dict = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._t0 = time.monotonic()
        self._thread: Optional[threading.Thread] = None
        self._on_sample = on_sample
        self.system: list = []         # (t, machine-wide CPU percent, load average 1 min)

    def watch(self, label: str, pid: int) -> None:
        """Add a process to sample."""
        try:
            proc = psutil.Process(pid)
            proc.cpu_percent(None)
        except psutil.Error:
            return
        with self._lock:
            self._procs[label] = proc
            self.samples.setdefault(label, [])

    def start(self) -> 'RssSampler':
        """Start sampling on a daemon thread."""
        self._t0 = time.monotonic()
        psutil.cpu_percent(None)
        self._thread = threading.Thread(target=self._run, name='rss-sampler', daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.period_s):
            self.sample_once()

    def sample_once(self) -> None:
        """Take one sample of every watched process."""
        t = time.monotonic() - self._t0
        try:
            self.system.append((t, psutil.cpu_percent(None), os.getloadavg()[0]))
        except OSError:
            pass
        with self._lock:
            items = list(self._procs.items())
        for label, proc in items:
            try:
                with proc.oneshot():
                    rss = proc.memory_info().rss
                    cpu = proc.cpu_percent(None)
            except psutil.Error:
                continue
            self.samples[label].append((t, rss, cpu))
            if self._on_sample is not None:
                self._on_sample(label, proc.pid, rss, cpu)

    def stop(self) -> None:
        """Stop sampling."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)

    def window(self, start_mono: float, end_mono: float) -> dict:
        """Return mean CPU% (machine and per process) and load between two steady times."""
        a, b = start_mono - self._t0, end_mono - self._t0
        out: dict = {}
        rows = [r for r in self.system if a <= r[0] <= b]
        if rows:
            out['machine_cpu_pct'] = sum(r[1] for r in rows) / len(rows)
            out['loadavg_1m'] = sum(r[2] for r in rows) / len(rows)
        for label, samples in self.samples.items():
            rows = [r for r in samples if a <= r[0] <= b]
            if rows:
                out[f'{label}_cpu_pct'] = sum(r[2] for r in rows) / len(rows)
                out[f'{label}_rss_mib'] = max(r[1] for r in rows) / 2**20
        return out

    def summary(self) -> dict:
        """Return per label: samples, first/peak/last RSS in MiB, mean CPU%."""
        out = {}
        for label, rows in self.samples.items():
            if not rows:
                continue
            rss = [r[1] for r in rows]
            out[label] = {'samples': len(rows), 'rss_first_mib': rss[0] / 2**20,
                          'rss_peak_mib': max(rss) / 2**20, 'rss_last_mib': rss[-1] / 2**20,
                          'cpu_mean_pct': sum(r[2] for r in rows) / len(rows)}
        if self.system:
            out['machine'] = {
                'samples': len(self.system),
                'cpu_mean_pct': sum(r[1] for r in self.system) / len(self.system),
                'loadavg_1m_mean': sum(r[2] for r in self.system) / len(self.system)}
        return out


def machine_info() -> dict:
    """Return CPU model, core count, memory and load, for the report."""
    model = ''
    try:
        with open('/proc/cpuinfo', 'r') as f:
            for line in f:
                if line.startswith('model name'):
                    model = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    info = {'cpu_model': model, 'logical_cpus': os.cpu_count(),
            'affinity_cpus': len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity')
            else None,
            'memory_gib': round(psutil.virtual_memory().total / 2**30, 1),
            'python': sys.version.split()[0], 'platform': sys.platform}
    try:
        info['loadavg_at_start'] = os.getloadavg()
    except OSError:
        pass
    return info
