"""Helpers shared by the retrieval benchmarks: environment, percentiles, results, tasks."""

import json
import os
from pathlib import Path
import platform
import time

import numpy as np
import onnxruntime

from rag_planner.domain.request import task_key
from rag_planner.training import wording

WORK = Path(os.environ.get('RAG_BENCH_TMP', '/tmp/rag_bench'))


def rss_mb() -> dict:
    """Return VmRSS and VmHWM (peak) of this process in MiB."""
    out = {}
    try:
        with open('/proc/self/status') as handle:
            for line in handle:
                if line.startswith(('VmRSS:', 'VmHWM:')):
                    key, value = line.split(':', 1)
                    out[key] = round(int(value.split()[0]) / 1024.0, 1)
    except OSError:
        pass
    return {'rss_mb': out.get('VmRSS'), 'peak_rss_mb': out.get('VmHWM')}


def pct(values, q) -> float:
    """Return the q-th percentile of seconds, in ms."""
    return round(float(np.percentile(np.asarray(values) * 1e3, q)), 4)


def environment() -> dict:
    """Return what the results depend on: versions, CPU, affinity, time."""
    return {'python': platform.python_version(), 'onnxruntime': onnxruntime.__version__,
            'cpu': platform.processor() or platform.machine(),
            'affinity': sorted(os.sched_getaffinity(0)),
            'omp_num_threads': os.environ.get('OMP_NUM_THREADS', ''),
            'utc': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}


def write_result(out: Path, name: str, data: dict) -> Path:
    """Write one JSON result file into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / name
    path.write_text(json.dumps(data, indent=1) + '\n')
    print('wrote', path)
    return path


def template_split(seed: int = 0):
    """Return (train, held-out) template ids."""
    return wording.split_templates(seed)


def tasks(n: int, seed: int, templates=None) -> list:
    """Return ``n`` generated examples."""
    return wording.generate_examples(n, seed, templates=templates)


def unique_tasks(n: int, seed: int, templates=None) -> list:
    """Return ``n`` generated wordings, unique after normalisation (as in a library)."""
    seen, out = set(), []
    for round_no in range(50):
        for ex in tasks(max(1000, n - len(out)) * 12 // 10, seed + 100003 * round_no,
                        templates=templates):
            key = task_key(ex.task)
            if key not in seen:
                seen.add(key)
                out.append(ex.task)
                if len(out) == n:
                    return out
    return out
