"""
In-process cost and hit ratio of the plan skeleton cache on repeated wordings.

Plans ``--n`` tasks of a split's templates (warm-up), then ``--n`` more of the same
templates with other ids, once with the skeleton cache off and once on; prints the hit
ratio, exact plans and core-ms per plan (process CPU / plans) of the second batch.
Run from a set-up checkout: ``python scripts/bench_skeleton_cache.py --split dev``.
"""

import argparse
import time

from rag_planner.domain.robot_state import RobotState
from rag_planner.params import PlannerConfig
from rag_planner.planners.factory import build_planner
from rag_planner.serving.engine import PlanningEngine
from rag_planner.serving.request import PlanRequestData
from rag_planner.training.eval_planners import WIDE
from rag_planner.training.eval_templates import generate_examples

STATE = RobotState('robot_7', 'DOCK-1', 80.0, False, ())


def run(size: int, n: int, split: str) -> str:
    cfg = PlannerConfig.from_dict(dict(WIDE, pipeline='generated', skeleton_cache_size=size))
    planner, notes = build_planner(cfg, '', log=lambda m: None)
    if notes:
        raise SystemExit('; '.join(notes))
    engine = PlanningEngine(cfg, planner)
    for e in generate_examples(n, 1, split, noise=False):
        engine.plan(PlanRequestData(e.task, STATE, 0.0, 'warm'))
    before = planner.skeletons.stats()
    tasks = generate_examples(n, 2, split, noise=False)
    cpu, lat, exact = time.process_time(), [], 0
    for e in tasks:
        start = time.perf_counter()
        out = engine.plan(PlanRequestData(e.task, STATE, 0.0, 'bench'))
        lat.append((time.perf_counter() - start) * 1000.0)
        exact += tuple(out.steps) == tuple(e.plan)
    cpu_ms = (time.process_time() - cpu) * 1000.0 / len(tasks)
    after = planner.skeletons.stats()
    engine.close()
    hits = after['hits'] - before['hits']
    looked = hits + after['misses'] - before['misses']
    lat.sort()
    return (f'skeleton_cache_size={size}: hit ratio {hits / max(1, looked):.3f}, exact '
            f'{exact}/{len(tasks)}, {cpu_ms:.2f} core-ms per plan, p50 '
            f'{lat[len(lat) // 2]:.2f} / p99 {lat[int(len(lat) * 0.99)]:.2f} ms')


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[1])
    ap.add_argument('--n', type=int, default=1000)
    ap.add_argument('--split', default='dev')
    args = ap.parse_args()
    for size in (0, 4096):
        print(run(size, args.n, args.split), flush=True)


if __name__ == '__main__':
    main()
