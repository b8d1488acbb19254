"""
``bench_retrieval``: embedder, HNSW index, cache and retrieval-baseline benchmarks.

Sub-commands (run them pinned to one core: ``OMP_NUM_THREADS=1 taskset -c 1``)::

    bench_retrieval embed   [--n 500]                 embed latency per query
    bench_retrieval index   [--sizes 10000 100000 1000000] [--real-max 100000]
    bench_retrieval cache   [--requests 20000]        hit ratios on Zipf / unique tasks
    bench_retrieval family  [--n-per-family 100]      retrieval baseline vs rule planner
    bench_retrieval e2e     [--n 500]                 start-up + per-request stage latency
    bench_retrieval plot                               PNG from the JSON results

Results go to ``--out`` (default ``bench/``) as ``retrieval_<cmd>.json`` and
``retrieval.png``.  The measurements are in :mod:`.bench_retrieval_index` (embed,
index) and :mod:`.bench_retrieval_quality` (cache, family, e2e).
"""

import argparse
import json
from pathlib import Path
import sys
from typing import Optional

from rag_planner.errors import MissingExtra, require_extra
from rag_planner.paths import default_library_path
from rag_planner.sim.bench_retrieval_index import _child_build, _child_serve, cmd_embed, cmd_index
from rag_planner.sim.bench_retrieval_quality import cmd_cache, cmd_e2e, cmd_family


# ------------------------------------------------------------------------------ plot
def cmd_plot(args) -> Optional[Path]:
    """Draw the PNG summary from the JSON results present in ``--out``."""
    import matplotlib  # the sim extra (checked by main)
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    def load(name):
        path = args.out / name
        return json.loads(path.read_text()) if path.is_file() else None

    index, cache, family, embed = (load('retrieval_index.json'), load('retrieval_cache.json'),
                                   load('retrieval_family.json'), load('retrieval_embed.json'))
    fig, axes = plt.subplots(2, 2, figsize=(15, 10))
    ax = axes[0][0]
    if index:
        sizes = sorted(int(s) for s in index['sizes'])
        efs = sorted(int(e) for e in index['sizes'][str(sizes[0])]['ef'])
        for size in sizes:
            row = index['sizes'][str(size)]['ef']
            xs = [row[str(e)]['p50_ms'] for e in efs]
            ys = [row[str(e)]['recall_at_10'] for e in efs]
            ax.plot(xs, ys, 'o-', label=f'{size:,}')
            for e in efs:
                ax.annotate(f'ef={e}', (row[str(e)]['p50_ms'], row[str(e)]['recall_at_10']),
                            fontsize=7)
        ax.axhline(0.98, color='grey', ls='--', lw=0.8)
        ax.axvline(0.2, color='grey', ls=':', lw=0.8)
        ax.set_xlabel('HNSW query p50 (ms, one core)')
        ax.set_ylabel('recall@10 vs exact')
        ax.set_title('recall / latency per library size')
        ax.legend(title='entries')
        ax2 = axes[0][1]
        ax2.plot(sizes, [index['sizes'][str(s)]['build_s'] for s in sizes], 'o-',
                 label='build time (s)')
        ax2.plot(sizes, [index['sizes'][str(s)]['index_rss_mb'] for s in sizes], 's-',
                 label='RSS of loaded index (MiB)')
        ax2.plot(sizes, [index['sizes'][str(s)]['disk_mb'] for s in sizes], '^-',
                 label='size on disk (MiB)')
        ax2.set_xscale('log')
        ax2.set_yscale('log')
        ax2.set_xlabel('library entries')
        ax2.set_title('growth (M={M}, ef_construction={ef_construction})'.format(
            **index['params']))
        ax2.legend()
    ax = axes[1][0]
    if cache:
        names = list(cache['workloads'])
        ratios = [cache['workloads'][n]['hit_ratio'] for n in names]
        ax.barh(range(len(names)), ratios)
        for pos, value in enumerate(ratios):
            ax.text(value, pos, ' {:.3f}'.format(value), va='center', fontsize=7)
        ax.set_yticks(range(len(names)))
        ax.set_yticklabels(names, fontsize=7)
        ax.axvline(0.95, color='grey', ls='--', lw=0.8)
        ax.set_xlabel('cache hit ratio')
        ax.set_title('PlanCache (capacity {capacity}, {requests} requests)'.format(**cache))
    ax = axes[1][1]
    labels, values = [], []
    if family:
        for set_name, row in family['sets'].items():
            for who, acc in row['family_accuracy'].items():
                labels.append(f'{set_name}\n{who}')
                values.append(acc)
    if embed:
        title = 'family accuracy; embed p50 {:.2f} ms'.format(
            embed['int8_dynamic_quant_unpadded (shipped)']['p50_ms'])
    else:
        title = 'family accuracy'
    if labels:
        ax.barh(range(len(labels)), values)
        for pos, value in enumerate(values):
            ax.text(value, pos, ' {:.3f}'.format(value), va='center', fontsize=7)
        ax.set_yticks(range(len(labels)))
        ax.set_yticklabels(labels, fontsize=6)
        ax.set_xlim(min(values) - 0.05, 1.02)
        ax.set_xlabel('family accuracy (k={})'.format(family.get('k')))
    ax.set_title(title)
    fig.tight_layout()
    path = args.out / 'retrieval.png'
    fig.savefig(path, dpi=80)
    print('wrote', path)
    return path


# ------------------------------------------------------------------------------ main
def main(argv: Optional[list] = None) -> int:
    """Run the command line tool."""
    parser = argparse.ArgumentParser(prog='bench_retrieval', description=__doc__.split('\n')[0])
    sub = parser.add_subparsers(dest='cmd', required=True)

    def add(name, **kw):
        p = sub.add_parser(name, **kw)
        p.add_argument('--out', type=Path, default=Path('bench'))
        p.add_argument('--seed', type=int, default=7)
        return p

    p = add('embed')
    p.add_argument('--n', type=int, default=500)
    p.add_argument('--quick', action='store_true')
    p = add('index')
    p.add_argument('--sizes', type=int, nargs='+', default=[10000, 100000, 1000000])
    p.add_argument('--real-max', type=int, default=100000)
    p.add_argument('--queries', type=int, default=1000)
    p.add_argument('--M', type=int, default=16)
    p.add_argument('--ef-construction', type=int, default=100)
    p.add_argument('--ef-search', type=int, default=64)
    p.add_argument('--efs', type=int, nargs='+', default=[16, 32, 64, 128])
    p.add_argument('--keep', action='store_true', help='keep the built index folders')
    for name in ('cache', 'family', 'e2e'):
        p = add(name)
        p.add_argument('--library', type=Path, default=None)
    sub.choices['e2e'].add_argument('--n', type=int, default=500)
    sub.choices['cache'].add_argument('--requests', type=int, default=20000)
    sub.choices['cache'].add_argument('--capacity', type=int, default=4096)
    sub.choices['cache'].add_argument('--zipf-s', type=float, default=1.1)
    sub.choices['cache'].add_argument('--universe', type=int, default=50000)
    sub.choices['family'].add_argument('--n-per-family', type=int, default=100)
    sub.choices['family'].add_argument('--k', type=int, default=5)
    sub.choices['family'].add_argument('--original-graph', action='store_true',
                                       help='embed with the unmodified fp32-matmul graph')
    sub.choices['family'].add_argument('--name', default='retrieval_family.json')
    sub.choices['family'].add_argument('--no-shape-prior', action='store_true',
                                       help='plain score-weighted vote (ablation)')
    add('plot')
    for child in ('_build', '_serve'):
        p = sub.add_parser(child)
        p.add_argument('--vectors', required=True)
        p.add_argument('--size', type=int, required=True)
        p.add_argument('--index-dir', required=True)
        p.add_argument('--M', type=int, default=16)
        p.add_argument('--ef-construction', type=int, default=100)
        p.add_argument('--ef-search', type=int, default=64)
        p.add_argument('--queries')
        p.add_argument('--truth')
        p.add_argument('--efs', type=int, nargs='+', default=[64])
    args = parser.parse_args(argv)
    if args.cmd in ('_build', '_serve'):
        res = _child_build(args) if args.cmd == '_build' else _child_serve(args)
        print(json.dumps(res))
        return 0
    if args.cmd == 'plot':
        try:
            require_extra('sim', 'matplotlib', tool='bench_retrieval plot')
        except MissingExtra as exc:
            print(exc, file=sys.stderr)
            return 2
    if getattr(args, 'library', 'unset') is None:
        args.library = default_library_path()
    handler = {'embed': cmd_embed, 'index': cmd_index, 'cache': cmd_cache,
               'family': cmd_family, 'e2e': cmd_e2e, 'plot': cmd_plot}[args.cmd]
    handler(args)
    return 0


if __name__ == '__main__':
    sys.exit(main())
