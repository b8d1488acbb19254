"""
bench_reload: generations swapped in under load (issue 12's benchmark).

One pipeline plan_server starts from a signed generation (``generation_dir`` is a
symlink); a fleet sends the bench's load while, at the given times, the symlink is
pointed at the next generation and ``~/reload`` is called.  The default schedule is
three reloads: a tampered generation (its library changed after signing: must be
refused), a generation with a new library (re-indexed; caches start cold), and a copy of
the first under a new id (caches kept when its files equal the serving one's)::

    python -m rag_planner.sim.bench_reload --robots 20 --rate 5 --duration 60 --out /tmp/rl

Reports lost requests, answers beyond deadline + 10 ms, answers without a generation,
answers per generation (the tampered one must have none), each reload's result and
time, and the latency percentiles of the phase; writes ``summary.json``.
"""

import argparse
import json
from pathlib import Path
import shutil
import sys
import tempfile
import threading
import time
from typing import Optional

import rclpy
from rclpy.node import Node
from std_srvs.srv import Trigger

from rag_planner.paths import default_library_path
from rag_planner.planners.generations import (
    LIBRARY, new_keypair, read_signing_key, seal_generation)
from rag_planner.retrieval.plan_library import read_library, write_library
from rag_planner.ros.spinner import Spinner
from rag_planner.sim.fleet_node import FleetNode
from rag_planner.sim.phase import run_phase
from rag_planner.sim.procs import machine_info, PlannerProcess, RssSampler
from rag_planner.sim.report import phase_summary
from rag_planner.sim.scenario import FleetScenario, ScenarioConfig
from rag_planner.training.make_generation import build_generation


def make_generations(root: Path, log=print) -> dict:
    """Build the generations of the schedule; return name -> folder and the public key."""
    private, public = new_keypair(root / 'keys' / 'ops')
    key = read_signing_key(private)
    gens = {'gen-a': root / 'gen-a'}
    build_generation(default_library_path(), gens['gen-a'], private, generation_id='gen-a',
                     log=log)
    tampered = gens['gen-tampered'] = root / 'gen-tampered'
    shutil.copytree(gens['gen-a'], tampered)
    seal_generation(tampered, 'gen-tampered', key)
    lines = (tampered / LIBRARY).read_text().splitlines()
    entry = json.loads(lines[1])  # (line 0 is the header)
    entry['plan'] = 'HALT'  # a valid plan, but not the task's: only the seal can tell
    (tampered / LIBRARY).write_text('\n'.join([lines[0], json.dumps(entry), *lines[2:]]) + '\n')
    # a new library: the shipped one without its last 2 % (a roll-out that changes plans)
    library = read_library(default_library_path())
    smaller = write_library(root / 'library_b.jsonl',
                            library.entries[:int(len(library.entries) * 0.98)],
                            version=f'{library.version}-b')
    gens['gen-b'] = root / 'gen-b'
    build_generation(smaller, gens['gen-b'], private, generation_id='gen-b', log=log)
    gens['gen-c'] = root / 'gen-c'
    shutil.copytree(gens['gen-b'], gens['gen-c'])
    seal_generation(gens['gen-c'], 'gen-c', key)
    return {'folders': gens, 'public': public}


class Reloads:
    """Point the symlink at each generation on schedule and call ~/reload."""

    def __init__(self, node: Node, planner: str, link: Path, schedule: list):
        self._client = node.create_client(Trigger, f'{planner}/reload')
        self._link = link
        self._schedule = schedule
        self.results: list = []
        self._thread: Optional[threading.Thread] = None

    def start(self, t0: float) -> None:
        self._thread = threading.Thread(target=self._run, args=(t0,), daemon=True)
        self._thread.start()

    def join(self) -> None:
        if self._thread is not None:
            self._thread.join(120.0)

    def _run(self, t0: float) -> None:
        for at_s, name, folder in self._schedule:
            delay = t0 + at_s - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            tmp = self._link.with_name(self._link.name + '.new')
            tmp.symlink_to(folder)
            tmp.replace(self._link)
            start = time.monotonic()
            done = threading.Event()
            future = self._client.call_async(Trigger.Request())
            future.add_done_callback(lambda _: done.set())
            ok = done.wait(60.0)
            answer = future.result() if ok else None
            self.results.append({
                'at_s': round(start - t0, 2), 'generation': name,
                'success': bool(answer and answer.success),
                'message': answer.message if answer else 'no answer in 60 s',
                'seconds': round(time.monotonic() - start, 2)})


def _timeline(records, bin_s: float = 5.0) -> list:
    """Return per ``bin_s`` of sending time: answers, p50/p99 round trip, fallbacks."""
    bins: dict = {}
    for r in records:
        if r.answered:
            bins.setdefault(int(r.sent // bin_s), []).append(r)
    rows = []
    for b in sorted(bins):
        rtt = sorted(r.rtt_ms for r in bins[b])
        rows.append({'from_s': b * bin_s, 'answers': len(rtt),
                     'p50_ms': round(rtt[len(rtt) // 2], 1),
                     'p99_ms': round(rtt[min(len(rtt) - 1, int(len(rtt) * 0.99))], 1),
                     'fallbacks': sum(1 for r in bins[b] if r.fallback)})
    return rows


def _report(result, summary: dict, reloads: list, tampered: str) -> dict:
    records = result.records
    answered = [r for r in records if r.answered]
    per_generation: dict = {}
    for r in answered:
        per_generation[r.generation or '(no event)'] = \
            per_generation.get(r.generation or '(no event)', 0) + 1
    deadline = summary.get('deadline_ms', 150.0)
    return {
        'sent': len(records), 'lost': len(records) - len(answered),
        'beyond_deadline_plus_10ms': sum(1 for r in answered if r.rtt_ms > deadline + 10.0),
        'server_beyond_deadline_plus_10ms': summary.get('server_misses_beyond_grace'),
        'without_generation': sum(1 for r in answered if not r.generation),
        'answers_per_generation': per_generation,
        'served_by_tampered': per_generation.get(tampered, 0),
        'invalid': summary.get('invalid'), 'fallback_ratio': summary.get('fallback_ratio'),
        'rtt_ms': {k: summary.get(k) for k in ('p50_ms', 'p95_ms', 'p99_ms', 'max_ms')},
        'server_ms': summary.get('server'), 'throughput_hz': summary.get('throughput_hz'),
        'reloads': reloads, 'timeline': _timeline(records)}


def main(argv: Optional[list] = None) -> int:
    """Run the benchmark."""
    p = argparse.ArgumentParser(prog='bench_reload', description=__doc__.split('\n')[1])
    p.add_argument('--robots', type=int, default=20)
    p.add_argument('--rate', type=float, default=5.0, help='requests per robot per second')
    p.add_argument('--duration', type=float, default=60.0)
    p.add_argument('--reloads', default='15,30,45', help='seconds into the load')
    p.add_argument('--out', required=True)
    p.add_argument('--seed', type=int, default=1)
    p.add_argument('--prewarm', type=float, default=30.0,
                   help='seconds of the same kind of load first, not measured (the caches '
                        'warm, as on a planner that has been serving)')
    opts = p.parse_args(argv)
    out = Path(opts.out)
    out.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix='rag_reload_'))
    made = make_generations(root, log=lambda m: print(f'bench_reload: {m}', flush=True))
    gens = made['folders']
    order = ['gen-tampered', 'gen-b', 'gen-c']
    times = [float(t) for t in opts.reloads.split(',') if t.strip()]
    schedule = [(t, order[i % len(order)], gens[order[i % len(order)]])
                for i, t in enumerate(times)]
    link = root / 'current'
    link.symlink_to(gens['gen-a'])
    proc = PlannerProcess('/bench_reload', {
        'pipeline': 'generated', 'state_dir': str(root / 'state'),
        'generation_dir': str(link), 'generation_public_key': str(made['public'])},
        str(out / 'plan_server.log')).start()
    if not proc.wait_ready(300.0):
        print(proc.log()[-3000:], file=sys.stderr)
        return 2
    sampler = RssSampler(period_s=0.5)
    sampler.watch('pipeline', proc.pid)
    sampler.start()
    rclpy.init()
    node = FleetNode('bench_reload')
    spinner = Spinner(node)
    helper = Node('bench_reload_trigger')
    helper_spinner = Spinner(helper, name='reload-trigger')
    planner = proc.node_name
    try:
        robots = [f'robot_{i}' for i in range(opts.robots)]
        missing = node.wait_for_planners([planner], robots, 60.0)
        if missing:
            raise RuntimeError(f'planner not reachable: {missing}')
        warm = FleetScenario(ScenarioConfig(robots=opts.robots, rate_hz=opts.rate,
                                            duration_s=max(3.0, opts.prewarm),
                                            seed=opts.seed + 1000, process='poisson',
                                            templates='heldout'))
        run_phase(node, warm, lambda _r: planner, label='warmup', answer_timeout_s=1.0)
        scenario = FleetScenario(ScenarioConfig(robots=opts.robots, rate_hz=opts.rate,
                                                duration_s=opts.duration, seed=opts.seed,
                                                process='poisson', templates='heldout'))
        with helper_spinner.paused():
            reloads = Reloads(helper, planner, link, schedule)
        reloads.start(time.monotonic())
        result = run_phase(node, scenario, lambda _r: planner, label='reload',
                           answer_timeout_s=3.0)
        reloads.join()
        summary = phase_summary(result)
        sampler.sample_once()
        summary['cpu'] = sampler.window(result.t0_mono, result.t0_mono + result.wall_s)
    finally:
        helper_spinner.shutdown()
        spinner.shutdown()
        helper.destroy_node()
        node.destroy_node()
        rclpy.try_shutdown()
        proc.stop()
        sampler.stop()
    report = _report(result, summary, reloads.results, 'gen-tampered')
    report.update(machine=machine_info(), robots=opts.robots, rate_hz=opts.rate,
                  duration_s=opts.duration, cpu=summary['cpu'],
                  command='python -m rag_planner.sim.bench_reload ' +
                  ' '.join(argv or sys.argv[1:]))
    (out / 'summary.json').write_text(json.dumps(report, indent=1, default=str))
    print(json.dumps({k: v for k, v in report.items()
                      if k not in ('machine', 'server_ms', 'timeline')}, indent=1, default=str))
    for row in report['timeline']:
        print('  t={from_s:5.0f}s  n={answers:4d}  p50={p50_ms:7.1f}  p99={p99_ms:7.1f}  '
              'fallbacks={fallbacks}'.format(**row))
    shutil.rmtree(root, ignore_errors=True)
    ok = report['lost'] == 0 and report['served_by_tampered'] == 0 and \
        report['without_generation'] == 0
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
