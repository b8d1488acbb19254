"""
Cache, family-accuracy and end-to-end retrieval benchmarks.

The ``cache``, ``family`` and ``e2e`` sub-commands of ``bench_retrieval``.
"""

import json
import shutil
import time

import numpy as np

from rag_planner.domain.robot_state import RobotState
from rag_planner.domain.safety import SafetyConfig
from rag_planner.domain.task_families import FAMILIES
from rag_planner.planners.retrieval_baseline import (
    retrieval_plan, retrieval_plan_family, ShapePrior, vote_family)
from rag_planner.planners.rule_based import classify_family, rule_plan
from rag_planner.retrieval.cache import CachedRetrieval, PlanCache, template_key
from rag_planner.retrieval.embedder import Embedder
from rag_planner.retrieval.exact_knn import ExactKnn
from rag_planner.retrieval.hnsw_index import IndexParams, PlanIndex
from rag_planner.retrieval.index_build import select_core
from rag_planner.retrieval.plan_library import read_library
from rag_planner.retrieval.retriever import open_retriever, Retrieval, Retriever
from rag_planner.sim.bench_common import (
    environment, pct, rss_mb, tasks, template_split, unique_tasks, WORK, write_result)


# ------------------------------------------------------------------------------ cache
def _zipf_indices(rng, n_items: int, n: int, s: float) -> np.ndarray:
    weights = 1.0 / np.arange(1, n_items + 1) ** s
    weights /= weights.sum()
    perm = rng.permutation(n_items)
    return perm[rng.choice(n_items, size=n, p=weights)]


def cmd_cache(args) -> dict:
    """Hit ratio of a warmed PlanCache on Zipf-repeated and on all-unique task streams."""
    lib = read_library(args.library)
    dummy = CachedRetrieval(('x',), (1.0,))
    rng = np.random.default_rng(args.seed)
    result = {'library': str(args.library), 'library_entries': len(lib),
              'capacity': args.capacity, 'requests': args.requests, 'zipf_s': args.zipf_s,
              'note': 'cache warmed from the library before each workload; a miss inserts',
              'workloads': {}}

    def run(name, stream, template_key):
        cache = PlanCache(capacity=args.capacity, use_template_key=template_key)
        cache.warm((e.task, dummy) for e in lib.entries)
        for task in stream:
            if cache.get(task) is None:
                cache.put(task, dummy)
        key = name + ('' if template_key else ' (exact key only)')
        result['workloads'][key] = {k: (round(v, 4) if isinstance(v, float) else v)
                                    for k, v in cache.stats().items()}
        print(key, result['workloads'][key])

    tasks = [e.task for e in lib.entries]
    stream = [tasks[i] for i in _zipf_indices(rng, len(tasks), args.requests, args.zipf_s)]
    run('zipf over library tasks', stream, True)
    run('zipf over library tasks', stream, False)
    train, held = template_split()
    universe = unique_tasks(args.universe, args.seed + 1, templates=train)
    stream = [universe[i] for i in _zipf_indices(rng, len(universe), args.requests,
                                                 args.zipf_s)]
    name = 'zipf over {} distinct fresh-id tasks (train templates)'.format(len(universe))
    run(name, stream, True)
    run(name, stream, False)
    for label, templates in (('held-out', held), ('train', train)):
        unique = unique_tasks(args.requests, args.seed + 2, templates=templates)
        run('all-unique {}-template tasks'.format(label), unique, True)
        run('all-unique {}-template tasks'.format(label), unique, False)
    purity = {}
    for ex in tasks(50000, args.seed + 3):
        purity.setdefault(template_key(ex.task), set()).add(ex.family)
    result['template_key_family_purity'] = {
        'examples': 50000, 'keys': len(purity),
        'keys_with_more_than_one_family': sum(1 for v in purity.values() if len(v) > 1)}
    print(result['template_key_family_purity'])
    write_result(args.out, 'retrieval_cache.json', result)
    return result


# ------------------------------------------------------------------------------ family
def cmd_family(args) -> dict:
    """Family / plan accuracy of the retrieval baseline vs the rule planner (held out)."""
    cfg = SafetyConfig()
    state = RobotState()
    lib = read_library(args.library, cfg)
    emb = Embedder.load(quantize_activations=not args.original_graph)
    vecs = emb.embed_batch([e.task for e in lib.entries], progress=True)
    ids = [e.id for e in lib.entries]
    index = PlanIndex.build(vecs, ids, IndexParams(), model_id=emb.model_id)
    core = select_core(lib.entries)
    knn = ExactKnn(vecs[[ids.index(c) for c in core]], core)
    retriever = Retriever(emb, index, knn, None, lib.entries)
    prior = None if args.no_shape_prior else ShapePrior.fit(lib.entries)
    train, held = template_split()
    result = {'library': str(args.library), 'library_entries': len(lib),
              'library_templates': sorted({e.template for e in lib.entries}),
              'k': args.k, 'model_id': emb.model_id,
              'shape_prior': not args.no_shape_prior,
              'columns': {'retrieval_vote': 'plain score-weighted vote of the top-k',
                          'retrieval_baseline': 'what retrieval_plan builds: vote x library '
                                                'P(entity shape | family), first buildable',
                          'core_set_exact_knn': 'the same over the exact k-NN core set '
                                                '(the fallback path)',
                          'rule_planner': 'rule_planner.classify_family'},
              'sets': {}}
    for set_name, templates, seed in (('held-out templates', held, 1234),
                                      ('train templates, fresh ids', train, 4321)):
        examples = []
        for fam in FAMILIES:
            examples += tasks(args.n_per_family, seed + len(examples),
                              templates=[t for t in templates if t.startswith(fam + '/')])
        counts = {'n': 0, 'retrieval_family': 0, 'rule_family': 0, 'retrieval_plan': 0,
                  'retrieval_built_family': 0,
                  'rule_plan': 0, 'core_knn_family': 0}
        per_family = {f: {'n': 0, 'retrieval': 0, 'rule': 0} for f in FAMILIES}
        times = []
        for ex in examples:
            t0 = time.perf_counter()
            ret = retriever.retrieve(ex.task, k=args.k, budget_s=1.0)
            times.append(time.perf_counter() - t0)
            fam, _ = vote_family(ret)
            core_ret = _as_retrieval(knn.query(ret.vector, args.k), retriever)
            try:
                core_fam = retrieval_plan_family(ex.task, state, cfg, core_ret, prior)[0]
            except ValueError:
                core_fam = None
            rule_fam = classify_family(ex.task)
            try:
                built_fam, r_plan, _ = retrieval_plan_family(ex.task, state, cfg, ret, prior)
                r_plan = tuple(r_plan)
            except ValueError:
                built_fam, r_plan = None, None
            try:
                u_plan = tuple(rule_plan(ex.task, state, cfg).steps)
            except ValueError:
                u_plan = None
            counts['n'] += 1
            counts['retrieval_family'] += fam == ex.family
            counts['core_knn_family'] += core_fam == ex.family
            counts['retrieval_built_family'] += built_fam == ex.family
            counts['rule_family'] += rule_fam == ex.family
            counts['retrieval_plan'] += r_plan == tuple(ex.plan)
            counts['rule_plan'] += u_plan == tuple(ex.plan)
            per_family[ex.family]['n'] += 1
            per_family[ex.family]['retrieval'] += built_fam == ex.family
            per_family[ex.family]['rule'] += rule_fam == ex.family
        n = max(1, counts['n'])
        result['sets'][set_name] = {
            'n': counts['n'],
            'family_accuracy': {'retrieval_vote': round(counts['retrieval_family'] / n, 4),
                                'retrieval_baseline': round(
                                    counts['retrieval_built_family'] / n, 4),
                                'core_set_exact_knn': round(counts['core_knn_family'] / n, 4),
                                'rule_planner': round(counts['rule_family'] / n, 4)},
            'plan_exact_match': {'retrieval_baseline': round(counts['retrieval_plan'] / n, 4),
                                 'rule_planner': round(counts['rule_plan'] / n, 4)},
            'per_family_accuracy': {f: {'n': v['n'],
                                        'retrieval': round(v['retrieval'] / max(1, v['n']), 3),
                                        'rule': round(v['rule'] / max(1, v['n']), 3)}
                                    for f, v in per_family.items()},
            'retrieve_p50_ms': pct(times, 50), 'retrieve_p99_ms': pct(times, 99)}
        print(set_name, json.dumps(result['sets'][set_name]['family_accuracy']),
              json.dumps(result['sets'][set_name]['plan_exact_match']))
    write_result(args.out, args.name, result)
    return result


def _as_retrieval(pairs, retriever):
    ids = tuple(p[0] for p in pairs)
    return Retrieval(ids=ids, scores=tuple(p[1] for p in pairs),
                     entries=tuple(retriever.library[i] for i in ids))


# ------------------------------------------------------------------------------ e2e
def cmd_e2e(args) -> dict:
    """Start-up time and per-request latency of the whole retrieval stage (shipped library)."""
    idir = WORK / 'e2e_index'
    shutil.rmtree(idir, ignore_errors=True)
    result = {'env': environment(), 'library': str(args.library)}
    t0 = time.perf_counter()
    ret = open_retriever(args.library, idir)
    result['first_start_with_index_build_s'] = round(time.perf_counter() - t0, 2)
    t0 = time.perf_counter()
    ret = open_retriever(args.library, idir)
    result['start_s'] = round(time.perf_counter() - t0, 2)
    result['start_rss_mb'] = rss_mb()['rss_mb']
    result['warmed_cache_entries'] = len(ret.cache)
    train, held = template_split()
    tasks = unique_tasks(args.n, args.seed + 5, templates=held)
    cfg, state = SafetyConfig(), RobotState()
    prior = ShapePrior.fit(ret.library.values())
    cache = ret.cache

    def timed(label, fn):
        for task in tasks[:20]:
            fn(task)
        times = []
        for task in tasks:
            t1 = time.perf_counter()
            fn(task)
            times.append(time.perf_counter() - t1)
        result[label] = {'p50_ms': pct(times, 50), 'p99_ms': pct(times, 99), 'n': len(times)}
        print(label, result[label])

    ret.cache = None
    timed('miss: embed + hnsw (k=5)', lambda t: ret.retrieve(t, k=5, budget_s=1.0))
    timed('miss: embed + hnsw + retrieval_plan',
          lambda t: retrieval_plan(t, state, cfg, ret.retrieve(t, k=5, budget_s=1.0), prior))
    timed('fallback: embed + exact core k-NN',
          lambda t: ret.retrieve(t, k=5, budget_s=0.0))
    ret.cache = cache
    for task in tasks:
        ret.retrieve(task, k=5, budget_s=1.0)
    timed('hit: cache (exact key)', lambda t: ret.retrieve(t, k=5, budget_s=1.0))
    vec = ret.embedder.embed(tasks[0])
    timed('hnsw query only (k=5)', lambda t: ret.index.query(vec, 5))
    timed('exact core k-NN only (k=5)', lambda t: ret.knn.query(vec, 5))
    result['core_set_size'] = len(ret.knn)
    write_result(args.out, 'retrieval_e2e.json', result)
    shutil.rmtree(idir, ignore_errors=True)
    return result
