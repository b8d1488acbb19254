"""
bench_sweep: each planner's capacity, the highest offered load it serves well.

Runs ``bench``'s load phase at rising request rates against one server per planner and
reports, per planner and rate, the round trip p50/p99, fallbacks, answers beyond the
deadline + 10 ms and core-ms per plan; a planner's *capacity* is the highest throughput
at which p99 <= ``--p99-ms`` (50) and fallbacks <= ``--max-fallbacks`` (1 %), with
nothing lost.  Writes ``sweep.json`` and ``sweep_p99.png`` (p99 against offered load)::

    python -m rag_planner.sim.bench_sweep --robots 20 --rates 1,2.5,5,7.5,10
        --duration 20 --planners pipeline,rule --out /tmp/sweep
"""

import argparse
import json
import os
import sys
from typing import Optional

from rag_planner.sim.bench import build_parser
from rag_planner.sim.bench_run import Bench


def capacity(rows: list, p99_ms: float, max_fallbacks: float) -> Optional[float]:
    """Return the highest throughput (plans/s) of the rows that serve well, or None."""
    good = [r['throughput_hz'] for r in rows
            if r['lost'] == 0 and r['p99_ms'] is not None and r['p99_ms'] <= p99_ms
            and (r['fallback_ratio'] or 0.0) <= max_fallbacks]
    return max(good) if good else None


def _row(rate: float, robots: int, summary: dict, label: str) -> dict:
    return {'rate_per_robot_hz': rate, 'offered_hz': rate * robots,
            'throughput_hz': summary.get('throughput_hz'), 'p50_ms': summary.get('p50_ms'),
            'p99_ms': summary.get('p99_ms'), 'lost': summary.get('lost', 0),
            'fallback_ratio': summary.get('fallback_ratio'),
            'beyond_deadline_plus_10ms': summary.get('misses_beyond_grace'),
            'core_ms_per_plan': (summary.get('core_ms_per_plan') or {}).get(label)}


def _plot(path: str, table: dict, p99_ms: float) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, rows in table.items():
        ax.plot([r['offered_hz'] for r in rows], [r['p99_ms'] for r in rows], 'o-',
                label=label)
    ax.axhline(p99_ms, color='grey', linestyle='--', linewidth=1, label=f'{p99_ms:g} ms')
    ax.set_xlabel('offered load (plans/s)')
    ax.set_ylabel('round trip p99 (ms)')
    ax.set_yscale('log')
    ax.legend()
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: Optional[list] = None) -> int:
    """Run the sweep."""
    p = argparse.ArgumentParser(prog='bench_sweep', description=__doc__.split('\n')[1])
    p.add_argument('--robots', type=int, default=20)
    p.add_argument('--rates', default='1,2.5,5,7.5,10', help='requests per robot per second')
    p.add_argument('--duration', type=float, default=20.0, help='seconds per rate')
    p.add_argument('--planners', default='pipeline,rule')
    p.add_argument('--p99-ms', type=float, default=50.0)
    p.add_argument('--max-fallbacks', type=float, default=0.01)
    p.add_argument('--prewarm', type=float, default=30.0,
                   help='seconds of the same load at the lowest rate first, not measured '
                        '(the caches warm: else the first rates pay for it)')
    p.add_argument('--out', required=True)
    opts = p.parse_args(argv)
    rates = [float(r) for r in opts.rates.split(',') if r.strip()]
    bench_argv = ['--robots', str(opts.robots), '--rate', str(rates[0]), '--duration',
                  str(opts.duration), '--planners', opts.planners, '--accuracy-tasks', '0',
                  '--no-progress', '--out', opts.out]
    bench = Bench(build_parser().parse_args(bench_argv), bench_argv)
    table: dict = {label: [] for label in bench.planners}
    import rclpy
    from rag_planner.ros.spinner import Spinner
    from rag_planner.sim.fleet_node import FleetNode
    from rag_planner.sim.procs import machine_info
    bench.start_servers()
    rclpy.init()
    node = FleetNode('bench_sweep')
    spinner = Spinner(node)
    bench.sampler.watch('bench_client', os.getpid())
    bench.sampler.start()
    try:
        missing = node.wait_for_planners([bench.servers[x].node_name for x in bench.planners],
                                         [f'robot_{i}' for i in range(opts.robots)], 60.0)
        if missing:
            raise RuntimeError('planners not reachable: ' + ', '.join(missing))
        for label in bench.planners:
            if opts.prewarm > 0:
                bench.opts.rate, bench.opts.duration = rates[0], opts.prewarm
                bench.load_phase(node, label, f'{label}-prewarm', (), 900)
                bench.opts.duration = opts.duration
            for i, rate in enumerate(rates):
                bench.opts.rate = rate
                result = bench.load_phase(node, label, f'{label}@{rate:g}', (), i)
                row = _row(rate, opts.robots, bench.summary_of(result), label)
                table[label].append(row)
                print(f'{label:9s} {row["offered_hz"]:6.1f}/s  p50 {row["p50_ms"]:7.1f}  '
                      f'p99 {row["p99_ms"]:7.1f} ms  fallbacks '
                      f'{100 * (row["fallback_ratio"] or 0):5.1f} %  lost {row["lost"]}  '
                      f'core-ms {row["core_ms_per_plan"] or float("nan"):.2f}', flush=True)
    finally:
        spinner.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()
        bench.stop_servers()
        bench.sampler.stop()
    doc = {'capacity_plans_per_s': {k: capacity(v, opts.p99_ms, opts.max_fallbacks)
                                    for k, v in table.items()},
           'criteria': {'p99_ms': opts.p99_ms, 'max_fallback_ratio': opts.max_fallbacks,
                        'lost': 0},
           'rows': table, 'machine': machine_info(),
           'command': 'python -m rag_planner.sim.bench_sweep ' + ' '.join(argv or sys.argv[1:])}
    with open(os.path.join(opts.out, 'sweep.json'), 'w') as handle:
        json.dump(doc, handle, indent=1)
    _plot(os.path.join(opts.out, 'sweep_p99.png'), table, opts.p99_ms)
    print('capacity (plans/s):', doc['capacity_plans_per_s'])
    return 0


if __name__ == '__main__':
    sys.exit(main())
