"""
bench: end-to-end latency and accuracy of the planners, side by side, over ROS.

    bench --robots 20 --rate 5 --duration 60 --out bench/results

starts one plan_server per planner compared (``pipeline``: pipeline:=generated,
``retrieval``: pipeline:=retrieved, ``rule``: pipeline:=rule_based), each in its
own namespace and process, and drives them one after the other with the same
fleet scenario (N robots, Poisson arrivals at HZ per robot, evolving state,
held-out wordings) through the ``~/get_plan`` service (``--interface topic``
or ``both`` for the topic pair).  Then every planner, and the local LLM
baseline (SmolLM2-135M-Instruct via llama-cpp-python, prompted with the
retrieved plans the retrieval server returned), answers the same held-out
tasks one at a time for the exact-plan accuracy comparison.

Writes DIR/summary.json (one object per planner: p50_ms, p95_ms, p99_ms,
max_ms, throughput_hz, lost, invalid, exact_ratio, ...), PNG plots and
DIR/events.mcap.  ``--hang-phase`` adds, per planner, the same load with a
retrieval hang injected for the whole phase (the load test of issue 5);
``--faults`` and ``--speed`` run a fault timeline on sim time.  Needs the ``sim``
extra; the LLM baseline also the ``llm`` extra (it is skipped, with a note, without it).
"""

import argparse
import sys

from rag_planner.errors import MissingExtra, require_extra
from rag_planner.sim.fleet_sim import SIM_EXTRA

PLANNERS = {'pipeline': 'generated', 'retrieval': 'retrieved', 'rule': 'rule_based'}
ALL = ('pipeline', 'retrieval', 'rule', 'llm')


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser of bench."""
    p = argparse.ArgumentParser(prog='bench', description=__doc__.split('\n\n')[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('--robots', type=int, default=20, help='robots (concurrent clients)')
    p.add_argument('--rate', type=float, default=5.0, help='requests per robot per second')
    p.add_argument('--duration', type=float, default=60.0,
                   help='seconds of measured load per planner (sim seconds with --speed)')
    p.add_argument('--out', required=True, help='output folder')
    p.add_argument('--planners', default=','.join(ALL),
                   help='planners to compare, from ' + ','.join(ALL))
    p.add_argument('--interface', choices=('service', 'topic', 'both'), default='service')
    p.add_argument('--process', choices=('poisson', 'periodic'), default='poisson',
                   help='arrival process per robot')
    p.add_argument('--templates', choices=('all', 'train', 'heldout'), default='heldout',
                   help='wording templates of the load tasks')
    p.add_argument('--composite-parts', type=int, default=0,
                   help='> 1: every task a composite of that many parts (plans of at most '
                        'max_steps steps; held-out templates and family combinations)')
    p.add_argument('--static', action='store_true',
                   help='robots do not evolve (fresh healthy state every request)')
    p.add_argument('--speed', type=float, default=1.0,
                   help='sim seconds per real second (rate and duration are sim)')
    p.add_argument('--faults', default='', help='fault timeline of every load phase '
                   '(see fleet_sim --help), "default" for the standard five faults')
    p.add_argument('--hang-phase', action='store_true',
                   help='also run each planner with a retrieval hang for the whole phase')
    p.add_argument('--hang-stage', default='retrieve', choices=('embed', 'retrieve', 'generate'))
    p.add_argument('--no-events', action='store_true',
                   help='do not subscribe to the PlanEvents during load (less client CPU; no '
                        'cache-hit ratio)')
    p.add_argument('--warmup', type=float, default=3.0,
                   help='seconds of unrecorded load before each measured phase')
    p.add_argument('--accuracy-tasks', type=int, default=100,
                   help='held-out tasks every planner (and the LLM) answers one at a time')
    p.add_argument('--llm-tasks', type=int, default=-1,
                   help='held-out tasks for the LLM (-1 = --accuracy-tasks)')
    p.add_argument('--llm-threads', type=int, default=1,
                   help='llama.cpp threads (two spin-waiting threads collapse on a busy '
                        '2-core machine)')
    p.add_argument('--llm-max-tokens', type=int, default=96,
                   help='LLM decoding budget (the generator has max_new_tokens 96)')
    p.add_argument('--top-k', type=int, default=5, help='retrieved plans in the LLM prompt')
    p.add_argument('--seed', type=int, default=1)
    p.add_argument('--deadline-ms', type=float, default=0.0,
                   help='GetPlan.deadline_ms (0 = server default)')
    p.add_argument('--param', action='append', default=[], metavar='NAME:=VALUE',
                   help='extra parameter for every planner server (repeatable)')
    p.add_argument('--state-dir', default='', help='state folders of the servers '
                   '(default: a fresh temporary folder)')
    p.add_argument('--server-module', default='rag_planner.ros.plan_server',
                   help='module run as the plan server (experiments with patched servers)')
    p.add_argument('--mcap-max', type=int, default=200_000,
                   help='at most this many MCAP messages')
    p.add_argument('--answer-timeout', type=float, default=3.0)
    p.add_argument('--no-progress', action='store_true')
    return p


def main(args=None) -> int:
    """Run the benchmark."""
    argv = list(sys.argv[1:] if args is None else args)
    opts = build_parser().parse_args(argv)
    if opts.robots < 1 or opts.rate <= 0 or opts.duration <= 0 or opts.speed <= 0:
        print('bench: need --robots >= 1, --rate > 0, --duration > 0, --speed > 0',
              file=sys.stderr)
        return 2
    try:
        require_extra('sim', *SIM_EXTRA, tool='bench')
    except MissingExtra as exc:
        print(exc, file=sys.stderr)
        return 2
    from rag_planner.sim.bench_run import Bench  # the sim extra, checked above
    try:
        bench = Bench(opts, argv)
    except ValueError as exc:
        print(f'bench: {exc}', file=sys.stderr)
        return 2
    try:
        doc = bench.run()
    except KeyboardInterrupt:
        bench.stop_servers()
        return 130
    except RuntimeError as exc:
        bench.stop_servers()
        print(f'bench: {exc}', file=sys.stderr)
        return 3
    lost = sum(v.get('lost', 0) for k, v in doc.items() if k not in ('comparison', 'meta'))
    return 1 if lost else 0


if __name__ == '__main__':
    sys.exit(main())
