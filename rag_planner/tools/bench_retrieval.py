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
``retrieval.png``.  Index benchmark vectors: task wordings made by
:mod:`rag_planner.wording` (random ids, all templates) embedded with the real
embedder up to ``--real-max`` entries; sizes above that are filled with synthetic
vectors (a real vector plus isotropic Gaussian noise, renormalised, with the noise
scaled so each copy keeps cosine ~0.95 to its source: dense near-duplicate clusters,
as a large library of wordings has).  Queries are held-out-template wordings, embedded
for real.  Each size is built in one child process and served (load + queries) in
another so that the RSS figures are per size.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

import numpy as np

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


def _pct(values, q) -> float:
    return round(float(np.percentile(np.asarray(values) * 1e3, q)), 4)


def _env() -> dict:
    import hnswlib  # noqa: F401
    import onnxruntime
    return {'python': platform.python_version(), 'onnxruntime': onnxruntime.__version__,
            'cpu': platform.processor() or platform.machine(),
            'affinity': sorted(os.sched_getaffinity(0)),
            'omp_num_threads': os.environ.get('OMP_NUM_THREADS', ''),
            'utc': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}


def _write(out: Path, name: str, data: dict) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / name
    path.write_text(json.dumps(data, indent=1) + '\n')
    print('wrote', path)
    return path


def _templates(seed: int = 0):
    from rag_planner import wording
    return wording.split_templates(seed)


def _tasks(n: int, seed: int, templates=None) -> list:
    from rag_planner import wording
    return wording.generate_examples(n, seed, templates=templates)


# ------------------------------------------------------------------------------ embed
def cmd_embed(args) -> dict:
    """Measure single-query embed latency (unpadded int8 rewrite vs alternatives)."""
    from tokenizers import Tokenizer
    from rag_planner.embedder import Embedder

    train, held = _templates()
    texts = [e.task for e in _tasks(args.n, 11, templates=list(held) + list(train))]
    result = {'env': _env(), 'n_queries': len(texts),
              'note': 'wall-clock p50/p90/p99 and on-CPU time of the calling thread; the '
                      'machine is shared, so wall tails include preemption'}
    emb = Embedder.load()
    lengths = [emb.token_count(t) for t in texts]
    result['tokens'] = {'p50': float(np.median(lengths)), 'max': int(max(lengths)),
                        'min': int(min(lengths))}
    variants = [('int8_dynamic_quant_unpadded (shipped)', emb, False)]
    if not args.quick:
        variants.append(('original_graph_unpadded', Embedder.load(quantize_activations=False),
                         False))
        variants.append(('original_graph_padded_128', Embedder.load(
            quantize_activations=False), True))
    for name, model, padded in variants:
        if padded:
            tok = Tokenizer.from_file(model.info['tokenizer_path'])
            tok.enable_padding(length=128)
            tok.enable_truncation(max_length=128)

            def run(text, model=model, tok=tok):
                enc = tok.encode(text)
                ids = np.asarray([enc.ids], dtype=np.int64)
                mask = np.asarray([enc.attention_mask], dtype=np.int64)
                states = model._run(ids, mask)[0]
                vec = (states * mask[0][:, None]).sum(0) / mask.sum()
                return vec / np.linalg.norm(vec)
        else:
            run = model.embed
        for text in texts[:20]:
            run(text)
        times, cpu = [], []
        sample = texts if not padded else texts[:100]
        for text in sample:
            c0 = time.thread_time()
            t0 = time.perf_counter()
            run(text)
            times.append(time.perf_counter() - t0)
            cpu.append(time.thread_time() - c0)
        result[name] = {'p50_ms': _pct(times, 50), 'p90_ms': _pct(times, 90),
                        'p99_ms': _pct(times, 99), 'n': len(times),
                        'cpu_p50_ms': _pct(cpu, 50), 'cpu_p99_ms': _pct(cpu, 99)}
        print(name, result[name])
    t0 = time.perf_counter()
    emb.embed_batch(texts)
    result['embed_batch_texts_per_s'] = round(len(texts) / (time.perf_counter() - t0), 1)
    if not args.quick:
        plain = variants[1][1]
        cos = [float(emb.embed(t) @ plain.embed(t)) for t in texts[:200]]
        result['cosine_int8_vs_original'] = {'mean': round(float(np.mean(cos)), 4),
                                             'min': round(float(np.min(cos)), 4)}
    result['model_id'] = emb.model_id
    _write(args.out, 'retrieval_embed.json', result)
    return result


# ------------------------------------------------------------------------------ index
def unique_tasks(n: int, seed: int, templates=None) -> list:
    """Return ``n`` generated wordings, unique after normalisation (as in a library)."""
    from rag_planner.plan_cache import normalise_task

    seen, out = set(), []
    for round_no in range(50):
        for ex in _tasks(max(1000, n - len(out)) * 12 // 10, seed + 100003 * round_no,
                         templates=templates):
            key = normalise_task(ex.task)
            if key not in seen:
                seen.add(key)
                out.append(ex.task)
                if len(out) == n:
                    return out
    return out


def _real_vectors(n: int, seed: int) -> tuple:
    """Embed ``n`` unique generated wordings (cached, with their texts, in $RAG_BENCH_TMP)."""
    from rag_planner.embedder import Embedder

    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / 'real_{}_{}.npy'.format(n, seed)
    tpath = WORK / 'real_{}_{}.json'.format(n, seed)
    if path.is_file() and tpath.is_file():
        return np.load(path), json.loads(tpath.read_text())
    emb = Embedder.load()
    texts = unique_tasks(n, seed)
    vecs = emb.embed_batch(texts, progress=True)
    np.save(path, vecs)
    tpath.write_text(json.dumps(texts))
    return vecs, texts


def _synthetic(base: np.ndarray, n: int, seed: int, cos: float = 0.95) -> np.ndarray:
    """Return ``n`` vectors: ``base`` first, then noisy renormalised copies of it."""
    if n <= len(base):
        return base[:n]
    rng = np.random.default_rng(seed)
    dim = base.shape[1]
    sigma = np.sqrt((1.0 / cos ** 2 - 1.0) / dim)
    out = np.empty((n, dim), dtype=np.float32)
    out[:len(base)] = base
    for lo in range(len(base), n, 65536):
        hi = min(n, lo + 65536)
        src = base[rng.integers(0, len(base), hi - lo)]
        noisy = src + rng.normal(0.0, sigma, size=src.shape).astype(np.float32)
        out[lo:hi] = noisy / np.linalg.norm(noisy, axis=1, keepdims=True)
    return out


def _ground_truth(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    best_s = np.full((len(queries), k), -np.inf, dtype=np.float32)
    best_i = np.zeros((len(queries), k), dtype=np.int64)
    for lo in range(0, len(vectors), 100000):
        chunk = np.asarray(vectors[lo:lo + 100000], dtype=np.float32)
        scores = queries @ chunk.T
        cand_s = np.concatenate([best_s, scores], axis=1)
        cand_i = np.concatenate([best_i, np.arange(lo, lo + len(chunk))[None, :].repeat(
            len(queries), 0)], axis=1)
        top = np.argpartition(-cand_s, k - 1, axis=1)[:, :k]
        best_s = np.take_along_axis(cand_s, top, 1)
        best_i = np.take_along_axis(cand_i, top, 1)
    order = np.argsort(-best_s, axis=1)
    return np.take_along_axis(best_i, order, 1), np.take_along_axis(best_s, order, 1)


def _child_build(args) -> dict:
    from rag_planner.vector_index import IndexParams, PlanIndex

    base = rss_mb()
    vectors = np.load(args.vectors, mmap_mode='r')[:args.size]
    vectors = np.ascontiguousarray(vectors)
    ids = ['e{:07d}'.format(i) for i in range(len(vectors))]
    params = IndexParams(M=args.M, ef_construction=args.ef_construction,
                         ef_search=args.ef_search)
    t0 = time.perf_counter()
    index = PlanIndex.build(vectors, ids, params)
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    index.save(args.index_dir)
    save_s = time.perf_counter() - t0
    size = sum(f.stat().st_size for f in Path(args.index_dir).iterdir())
    return {'build_s': round(build_s, 2), 'save_s': round(save_s, 2),
            'disk_mb': round(size / 2 ** 20, 1), 'rss_before_mb': base['rss_mb'],
            'build_peak_rss_mb': rss_mb()['peak_rss_mb']}


def _child_serve(args) -> dict:
    from rag_planner.vector_index import PlanIndex

    base = rss_mb()
    t0 = time.perf_counter()
    index = PlanIndex.load(args.index_dir)
    load_s = time.perf_counter() - t0
    loaded = rss_mb()
    queries = np.load(args.queries)
    truth = np.load(args.truth)
    kth = np.load(args.truth.replace('truth_', 'truth_sims_'))[:, -1]
    result = {'load_verify_s': round(load_s, 2), 'rss_before_load_mb': base['rss_mb'],
              'rss_loaded_mb': loaded['rss_mb'],
              'index_rss_mb': round(loaded['rss_mb'] - base['rss_mb'], 1), 'ef': {}}
    k = truth.shape[1]
    pos = {name: i for i, name in enumerate(index.ids)}
    for ef in args.efs:
        index.set_ef(ef)
        for q in queries[:50]:
            index.query(q, k)
        times, cpu, hits, close = [], [], 0, 0
        for q, want, limit in zip(queries, truth, kth):
            c0 = time.thread_time()
            t0 = time.perf_counter()
            got = index.query(q, k)
            times.append(time.perf_counter() - t0)
            cpu.append(time.thread_time() - c0)
            hits += len({pos[i] for i, _ in got} & set(want.tolist()))
            close += sum(1 for _, score in got if score >= limit - 1e-5)
        result['ef'][str(ef)] = {'recall_at_10': round(close / truth.size, 4),
                                 'id_recall_at_10': round(hits / truth.size, 4),
                                 'p50_ms': _pct(times, 50), 'p99_ms': _pct(times, 99),
                                 'cpu_p50_ms': _pct(cpu, 50), 'cpu_p99_ms': _pct(cpu, 99)}
    gc.collect()
    result['rss_after_queries_mb'] = rss_mb()['rss_mb']
    return result


def cmd_index(args) -> dict:
    """Build / serve HNSW indexes of several sizes; recall@10 vs exact, latency, RSS."""
    from rag_planner.embedder import Embedder

    train, held = _templates()
    real_n = min(max(args.sizes), args.real_max)
    base, _ = _real_vectors(real_n, args.seed)
    real_n = len(base)
    emb = Embedder.load()
    qtexts = [e.task for e in _tasks(args.queries, 99, templates=held)]
    queries = emb.embed_batch(qtexts)
    WORK.mkdir(parents=True, exist_ok=True)
    qpath = WORK / 'queries.npy'
    np.save(qpath, queries)
    result = {'env': _env(), 'model_id': emb.model_id, 'k': 10,
              'params': {'M': args.M, 'ef_construction': args.ef_construction,
                         'ef_search': args.ef_search},
              'vectors': 'real MiniLM embeddings of generated wordings up to {}; above that '
                         'synthetic: a real vector + Gaussian noise renormalised to cosine '
                         '~0.95 with its source'.format(real_n),
              'queries': '{} held-out-template wordings, real embeddings'.format(len(queries)),
              'recall': 'recall_at_10 = share of the 10 returned neighbours whose cosine is '
                        '>= the exact 10th-best cosine (ties count: libraries hold '
                        'near-identical wordings); id_recall_at_10 = plain id overlap',
              'sizes': {}}
    for size in sorted(args.sizes):
        vecs = _synthetic(base, size, args.seed + size)
        vpath = WORK / 'vectors_{}.npy'.format(size)
        np.save(vpath, vecs)
        truth, truth_sims = _ground_truth(vecs, queries, 10)
        tpath = WORK / 'truth_{}.npy'.format(size)
        np.save(tpath, truth)
        np.save(WORK / 'truth_sims_{}.npy'.format(size), truth_sims)
        del vecs
        gc.collect()
        idir = WORK / 'index_{}'.format(size)
        shutil.rmtree(idir, ignore_errors=True)
        common = ['--vectors', str(vpath), '--size', str(size), '--index-dir', str(idir),
                  '--M', str(args.M), '--ef-construction', str(args.ef_construction),
                  '--ef-search', str(args.ef_search)]
        row = {'real_vectors': min(size, real_n)}
        for child in ('_build', '_serve'):
            extra = [] if child == '_build' else (
                ['--queries', str(qpath), '--truth', str(tpath), '--efs']
                + [str(e) for e in args.efs])
            proc = subprocess.run([sys.executable, '-m', 'rag_planner.tools.bench_retrieval',
                                   child] + common + extra, capture_output=True, text=True)
            if proc.returncode != 0:
                raise RuntimeError('{} {} failed: {}'.format(child, size, proc.stderr[-2000:]))
            row.update(json.loads(proc.stdout.strip().splitlines()[-1]))
        result['sizes'][str(size)] = row
        print(size, json.dumps(row))
        _write(args.out, 'retrieval_index.json', result)
        vpath.unlink(missing_ok=True)
        if not args.keep:
            shutil.rmtree(idir, ignore_errors=True)
    return result


# ------------------------------------------------------------------------------ cache
def _zipf_indices(rng, n_items: int, n: int, s: float) -> np.ndarray:
    weights = 1.0 / np.arange(1, n_items + 1) ** s
    weights /= weights.sum()
    perm = rng.permutation(n_items)
    return perm[rng.choice(n_items, size=n, p=weights)]


def cmd_cache(args) -> dict:
    """Hit ratio of a warmed PlanCache on Zipf-repeated and on all-unique task streams."""
    from rag_planner.plan_cache import CachedRetrieval, PlanCache, template_key
    from rag_planner.plan_library import read_library

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
    train, held = _templates()
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
    for ex in _tasks(50000, args.seed + 3):
        purity.setdefault(template_key(ex.task), set()).add(ex.family)
    result['template_key_family_purity'] = {
        'examples': 50000, 'keys': len(purity),
        'keys_with_more_than_one_family': sum(1 for v in purity.values() if len(v) > 1)}
    print(result['template_key_family_purity'])
    _write(args.out, 'retrieval_cache.json', result)
    return result


# ------------------------------------------------------------------------------ family
def cmd_family(args) -> dict:
    """Family / plan accuracy of the retrieval baseline vs the rule planner (held out)."""
    from rag_planner.embedder import Embedder
    from rag_planner.plan_library import read_library
    from rag_planner.retriever import (
        Retriever, retrieval_plan_family, select_core, vote_family)
    from rag_planner.exact_knn import ExactKnn
    from rag_planner.rule_planner import classify_family, rule_plan
    from rag_planner.robot_state import RobotState
    from rag_planner.safety import SafetyConfig
    from rag_planner.task_families import FAMILIES
    from rag_planner.vector_index import IndexParams, PlanIndex

    cfg = SafetyConfig()
    state = RobotState()
    lib = read_library(args.library, cfg)
    emb = Embedder.load(quantize_activations=not args.original_graph)
    vecs = emb.embed_batch([e.task for e in lib.entries], progress=True)
    ids = [e.id for e in lib.entries]
    index = PlanIndex.build(vecs, ids, IndexParams(), model_id=emb.model_id)
    core = select_core(lib.entries)
    knn = ExactKnn(vecs[[ids.index(c) for c in core]], core)
    retriever = Retriever(emb, index, knn, None, lib.entries,
                          use_shape_prior=not args.no_shape_prior)
    train, held = _templates()
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
            examples += _tasks(args.n_per_family, seed + len(examples),
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
                core_fam = retrieval_plan_family(ex.task, state, cfg, core_ret)[0]
            except ValueError:
                core_fam = None
            rule_fam = classify_family(ex.task)
            try:
                built_fam, r_plan, _ = retrieval_plan_family(ex.task, state, cfg, ret)
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
            'retrieve_p50_ms': _pct(times, 50), 'retrieve_p99_ms': _pct(times, 99)}
        print(set_name, json.dumps(result['sets'][set_name]['family_accuracy']),
              json.dumps(result['sets'][set_name]['plan_exact_match']))
    _write(args.out, args.name, result)
    return result


def _as_retrieval(pairs, retriever):
    from rag_planner.retriever import Retrieval
    ids = tuple(p[0] for p in pairs)
    return Retrieval(ids=ids, scores=tuple(p[1] for p in pairs),
                     entries=tuple(retriever.library[i] for i in ids), prior=retriever.prior)


# ------------------------------------------------------------------------------ e2e
def cmd_e2e(args) -> dict:
    """Start-up time and per-request latency of the whole retrieval stage (shipped library)."""
    from rag_planner.retriever import open_retriever, retrieval_plan
    from rag_planner.robot_state import RobotState
    from rag_planner.safety import SafetyConfig

    idir = WORK / 'e2e_index'
    shutil.rmtree(idir, ignore_errors=True)
    result = {'env': _env(), 'library': str(args.library)}
    t0 = time.perf_counter()
    ret = open_retriever(args.library, idir)
    result['first_start_with_index_build_s'] = round(time.perf_counter() - t0, 2)
    t0 = time.perf_counter()
    ret = open_retriever(args.library, idir)
    result['start_s'] = round(time.perf_counter() - t0, 2)
    result['start_rss_mb'] = rss_mb()['rss_mb']
    result['warmed_cache_entries'] = len(ret.cache)
    train, held = _templates()
    tasks = unique_tasks(args.n, args.seed + 5, templates=held)
    cfg, state = SafetyConfig(), RobotState()
    cache = ret.cache

    def timed(label, fn):
        for task in tasks[:20]:
            fn(task)
        times = []
        for task in tasks:
            t1 = time.perf_counter()
            fn(task)
            times.append(time.perf_counter() - t1)
        result[label] = {'p50_ms': _pct(times, 50), 'p99_ms': _pct(times, 99), 'n': len(times)}
        print(label, result[label])

    ret.cache = None
    timed('miss: embed + hnsw (k=5)', lambda t: ret.retrieve(t, k=5, budget_s=1.0))
    timed('miss: embed + hnsw + retrieval_plan',
          lambda t: retrieval_plan(t, state, cfg, ret.retrieve(t, k=5, budget_s=1.0)))
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
    _write(args.out, 'retrieval_e2e.json', result)
    shutil.rmtree(idir, ignore_errors=True)
    return result


# ------------------------------------------------------------------------------ plot
def cmd_plot(args) -> Optional[Path]:
    """Draw the PNG summary from the JSON results present in ``--out``."""
    import matplotlib
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
    if getattr(args, 'library', 'unset') is None:
        from rag_planner.tools.build_index import default_library_path
        args.library = default_library_path()
    handler = {'embed': cmd_embed, 'index': cmd_index, 'cache': cmd_cache,
               'family': cmd_family, 'e2e': cmd_e2e, 'plot': cmd_plot}[args.cmd]
    handler(args)
    return 0


if __name__ == '__main__':
    sys.exit(main())
