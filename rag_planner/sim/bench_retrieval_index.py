"""
Embedder and HNSW-index benchmarks (``bench_retrieval embed`` / ``index``).

Index benchmark vectors: task wordings made by :mod:`rag_planner.training.wording`
(random ids, all templates) embedded with the real embedder up to ``--real-max``
entries; sizes above that are filled with synthetic vectors (a real vector plus
isotropic Gaussian noise, renormalised, with the noise scaled so each copy keeps
cosine ~0.95 to its source: dense near-duplicate clusters, as a large library of
wordings has).  Queries are held-out-template wordings, embedded for real.  Each
size is built in one child process and served (load + queries) in another so
that the RSS figures are per size.
"""

import gc
import json
from pathlib import Path
import shutil
import subprocess
import sys
import time

import numpy as np
from tokenizers import Tokenizer

from rag_planner.retrieval.embedder import Embedder
from rag_planner.retrieval.hnsw_index import IndexParams, PlanIndex
from rag_planner.sim.bench_common import (
    environment, pct, rss_mb, tasks, template_split, unique_tasks, WORK, write_result)


def cmd_embed(args) -> dict:
    """Measure single-query embed latency (unpadded int8 rewrite vs alternatives)."""
    train, held = template_split()
    texts = [e.task for e in tasks(args.n, 11, templates=list(held) + list(train))]
    result = {'env': environment(), 'n_queries': len(texts),
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
        result[name] = {'p50_ms': pct(times, 50), 'p90_ms': pct(times, 90),
                        'p99_ms': pct(times, 99), 'n': len(times),
                        'cpu_p50_ms': pct(cpu, 50), 'cpu_p99_ms': pct(cpu, 99)}
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
    write_result(args.out, 'retrieval_embed.json', result)
    return result


# ------------------------------------------------------------------------------ index
def _real_vectors(n: int, seed: int) -> tuple:
    """Embed ``n`` unique generated wordings (cached, with their texts, in $RAG_BENCH_TMP)."""
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
                                 'p50_ms': pct(times, 50), 'p99_ms': pct(times, 99),
                                 'cpu_p50_ms': pct(cpu, 50), 'cpu_p99_ms': pct(cpu, 99)}
    gc.collect()
    result['rss_after_queries_mb'] = rss_mb()['rss_mb']
    return result


def cmd_index(args) -> dict:
    """Build / serve HNSW indexes of several sizes; recall@10 vs exact, latency, RSS."""
    train, held = template_split()
    real_n = min(max(args.sizes), args.real_max)
    base, _ = _real_vectors(real_n, args.seed)
    real_n = len(base)
    emb = Embedder.load()
    qtexts = [e.task for e in tasks(args.queries, 99, templates=held)]
    queries = emb.embed_batch(qtexts)
    WORK.mkdir(parents=True, exist_ok=True)
    qpath = WORK / 'queries.npy'
    np.save(qpath, queries)
    result = {'env': environment(), 'model_id': emb.model_id, 'k': 10,
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
            proc = subprocess.run([sys.executable, '-m', 'rag_planner.sim.bench_retrieval',
                                   child] + common + extra, capture_output=True, text=True)
            if proc.returncode != 0:
                raise RuntimeError('{} {} failed: {}'.format(child, size, proc.stderr[-2000:]))
            row.update(json.loads(proc.stdout.strip().splitlines()[-1]))
        result['sizes'][str(size)] = row
        print(size, json.dumps(row))
        write_result(args.out, 'retrieval_index.json', result)
        vpath.unlink(missing_ok=True)
        if not args.keep:
            shutil.rmtree(idir, ignore_errors=True)
    return result
