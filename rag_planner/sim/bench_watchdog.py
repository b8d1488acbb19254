"""
bench_watchdog: how fast the watchdog answers when a stage hangs (no ROS).

    bench_watchdog --fault retrieve:hang --requests 300 --rate 50 --out bench/watchdog.json

Runs the planning engine in-process with the chosen pipeline and an injected
fault, sends requests at a steady rate from a few client threads, and reports
the answer latency and the watchdog lag: the time from the moment a stage
deadline fell due to the fallback answer being handed over.
"""

import argparse
import json
import os
import sys
import threading
import time

from rag_planner.domain.robot_state import RobotState
from rag_planner.params import PlannerConfig
from rag_planner.planners.factory import build_planner
from rag_planner.serving.engine import GIL_SWITCH_INTERVAL_S, PlanningEngine
from rag_planner.serving.faults import FaultInjector
from rag_planner.serving.latency_stats import percentiles
from rag_planner.serving.request import PlanRequestData
from rag_planner.training.wording import generate_examples


def _stats(values) -> dict:
    return {'n': len(values), **percentiles(values)} if len(values) else {'n': 0}


def run(pipeline: str, fault: str, requests: int, rate_hz: float, clients: int,
        deadline_ms: float, seed: int = 0) -> dict:
    """Run one configuration and return its measurements."""
    stage, _, mode = fault.partition(':')
    overrides = {'pipeline': pipeline, 'deadline_ms': deadline_ms,
                 'fault.stage': stage, 'fault.mode': mode or 'hang'}
    config = PlannerConfig.from_dict(overrides)
    faults = FaultInjector()
    primary, notes = build_planner(config, '', faults.wrap, lambda msg: None)
    engine = PlanningEngine(config, primary, faults=faults)
    examples = generate_examples(requests, seed)
    totals, sources = [], {}
    lock = threading.Lock()
    period = clients / rate_hz

    def client(offset: int) -> None:
        next_t = time.monotonic()
        for i in range(offset, requests, clients):
            next_t += period
            ex = examples[i]
            out = engine.plan(PlanRequestData(ex.task, RobotState(f'r{offset}', 'DOCK-1', 80.0),
                                              0.0, str(i)), timeout=10.0)
            with lock:
                totals.append(out.times.total_ms)
                sources[str(out.source)] = sources.get(str(out.source), 0) + 1
            time.sleep(max(0.0, next_t - time.monotonic()))

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    engine.close()
    return {'pipeline': str(primary.name), 'notes': notes, 'fault': fault,
            'deadline_ms': deadline_ms, 'requests': requests, 'seconds': elapsed,
            'answer': _stats(totals), 'watchdog_lag': _stats(list(engine.watchdog_lags_ms)),
            'sources': sources, 'over_deadline_plus_10ms':
            int(sum(1 for t in totals if t > deadline_ms + 10.0)),
            'workers_replaced': engine.counters.snapshot()['workers_replaced']}


def main(argv=None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog='bench_watchdog', description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--pipeline', default='auto')
    parser.add_argument('--fault', action='append',
                        help='stage:mode, repeatable (default: embed:hang, retrieve:hang, '
                             'generate:hang)')
    parser.add_argument('--requests', type=int, default=300)
    parser.add_argument('--rate', type=float, default=50.0, help='requests per second')
    parser.add_argument('--clients', type=int, default=4)
    parser.add_argument('--deadline-ms', type=float, default=150.0)
    parser.add_argument('--out', help='write the results as JSON here')
    args = parser.parse_args(argv)
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)   # as plan_server does
    results = [run(args.pipeline, fault, args.requests, args.rate, args.clients,
                   args.deadline_ms)
               for fault in (args.fault or ['embed:hang', 'retrieve:hang', 'generate:hang'])]
    text = json.dumps({'machine': {'cpus': os.cpu_count()}, 'results': results}, indent=1)
    print(text)
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            f.write(text + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
