"""
Retrieval stage: cache -> embed -> HNSW, with an exact k-NN fallback.

:meth:`Retriever.retrieve` answers ``k`` nearest library entries for a task:

1. the :class:`~rag_planner.plan_cache.PlanCache` (exact text, then id-masked
   template key) -- no embedding at all on a hit;
2. the embedder (MiniLM int8, one thread);
3. the HNSW index; if it raises, or the time left in ``budget_s`` after embedding
   is below ``min_hnsw_budget_s``, or (with ``hnsw_timeout_s``) the query does not
   come back in time, the :class:`~rag_planner.exact_knn.ExactKnn` over the small
   core set answers instead and ``used_fallback`` says so.

:func:`retrieval_plan` is the retrieval baseline planner: the family is the
score-weighted vote of the top-k neighbours, the entities come from the task text
(:func:`rag_planner.task_families.extract_entities`) and the plan from
:func:`rag_planner.task_families.build_plan`.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor, TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np

from rag_planner.exact_knn import ExactKnn
from rag_planner.plan_cache import CachedRetrieval, PlanCache


class RetrievalError(RuntimeError):
    """Neither the index nor the exact fallback could answer."""


@dataclass(frozen=True)
class Retrieval:
    """The answer of one retrieval."""

    ids: tuple
    scores: tuple
    entries: tuple
    cache_hit: bool = False
    used_fallback: bool = False
    embed_ms: float = 0.0
    retrieve_ms: float = 0.0
    cache_kind: str = ''
    fallback_reason: str = ''
    vector: Optional[np.ndarray] = field(default=None, repr=False, compare=False)
    prior: Optional['ShapePrior'] = field(default=None, repr=False, compare=False)
    encoded: object = field(default=None, repr=False, compare=False)


def select_core(entries: Sequence, per_group: int = 4, max_size: int = 600) -> list:
    """
    Pick a small core set: ``per_group`` entries per (family, template), round-robin.

    Every family and every wording template is covered before any gets a second
    member; the result never exceeds ``max_size`` ids.
    """
    groups = defaultdict(list)
    for entry in entries:
        groups[(entry.family, entry.provenance.get('template', ''))].append(entry.id)
    chosen = []
    for rank in range(per_group):
        for key in sorted(groups):
            if rank < len(groups[key]) and len(chosen) < max_size:
                chosen.append(groups[key][rank])
    return chosen


class Retriever:
    """Cache + embedder + HNSW index + exact k-NN fallback over a plan library."""

    def __init__(self, embedder, index, knn: Optional[ExactKnn], cache: Optional[PlanCache],
                 library, min_hnsw_budget_s: float = 0.002,
                 hnsw_timeout_s: Optional[float] = None, faults=None,
                 use_shape_prior: bool = True):
        """
        Wire the parts; ``library`` is a list of entries or a dict id -> entry.

        ``faults`` is an optional fault injector (``hit(stage) -> bool``, e.g.
        :class:`rag_planner.faults.FaultInjector`) called at the start of the
        ``embed`` stage and inside the HNSW query (stage ``retrieve``), so an injected
        error, delay or hang there exercises the exact k-NN fallback.
        ``use_shape_prior`` fits a :class:`ShapePrior` on the library for
        :func:`retrieval_plan`.
        """
        self.embedder = embedder
        self.index = index
        self.knn = knn
        self.cache = cache
        if isinstance(library, dict):
            self.library = dict(library)
        else:
            self.library = {e.id: e for e in getattr(library, 'entries', library)}
        self.min_hnsw_budget_s = float(min_hnsw_budget_s)
        self.hnsw_timeout_s = hnsw_timeout_s
        self.faults = faults
        self.prior = ShapePrior.fit(self.library.values()) if use_shape_prior else None
        self._pool = None
        self._pool_lock = threading.Lock()

    @classmethod
    def from_parts(cls, embedder, index, library, cache_capacity: int = 4096,
                   recent_path=None, warm: bool = True, **kw) -> 'Retriever':
        """Build the usual stack: core-set k-NN from the index, a warmed cache."""
        knn = None
        if index is not None and index.core_vectors is not None and index.meta.core_ids:
            knn = ExactKnn(index.core_vectors, index.meta.core_ids)
        fingerprint = '{}|{}|{}'.format(getattr(index, 'model_id', ''),
                                        getattr(index.meta, 'library_version', '')
                                        if index is not None else '',
                                        len(index) if index is not None else 0)
        cache = PlanCache(capacity=cache_capacity, fingerprint=fingerprint)
        retriever = cls(embedder, index, knn, cache, library, **kw)
        if warm:
            retriever.warm(recent_path=recent_path)
        return retriever

    # ------------------------------------------------------------------ warm-up
    def warm(self, k: int = 10, limit: Optional[int] = None, recent_path=None) -> int:
        """Warm the cache: library entries' own retrievals, then persisted recent tasks."""
        if self.cache is None or self.index is None:
            return 0
        limit = self.cache.capacity if limit is None else limit
        ids = [i for i in self.index.ids if i in self.library][:limit]
        count = 0
        if ids:
            labels, scores = self.index.query_labels(self.index.get_vectors(ids), k=min(
                k, len(self.index)))
            names = self.index.ids
            for entry_id, lab_row, score_row in zip(ids, labels, scores):
                value = CachedRetrieval(tuple(names[int(x)] for x in lab_row),
                                        tuple(float(s) for s in score_row))
                self.cache.put(self.library[entry_id].task, value, served=False)
                count += 1
        if recent_path is not None:
            count += self.cache.load_recent(recent_path)
        return count

    # ------------------------------------------------------------------ query
    def _hnsw_query(self, vec, k: int):
        if self.faults is not None and self.faults.hit('retrieve'):
            raise RetrievalError('injected garbage in the HNSW stage')
        return self.index.query(vec, k)

    def _hnsw(self, vec, k: int):
        if self.hnsw_timeout_s is None:
            return self._hnsw_query(vec, k)
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix='hnsw')
            pool = self._pool
        future = pool.submit(self._hnsw_query, vec, k)
        try:
            return future.result(timeout=self.hnsw_timeout_s)
        except FutureTimeout:
            with self._pool_lock:  # abandon a stuck worker; the next query gets a fresh one
                if self._pool is pool:
                    self._pool = None
            pool.shutdown(wait=False)
            raise

    def _entries(self, ids) -> tuple:
        return tuple(self.library[i] for i in ids if i in self.library)

    def _encode(self, task: str):
        if self.faults is not None and self.faults.hit('embed'):
            vec = np.random.default_rng().normal(size=self.embedder.dim).astype(np.float32)
            return vec / np.linalg.norm(vec), None
        encoded = self.embedder.encode(task)
        return encoded.vector, encoded

    def retrieve(self, task: str, k: int = 5, budget_s: float = 0.010,
                 need_encoded: bool = False) -> Retrieval:
        """
        Return the ``k`` nearest library entries of ``task`` within ``budget_s``.

        On a cache miss the result carries the embedder's ``Encoded`` of the task
        (vector + token states, for the generator); ``need_encoded=True`` computes it
        on a cache hit too (the hit then saves only the index query).
        """
        start = time.perf_counter()
        if self.cache is not None:
            hit = self.cache.get(task)
            if hit is not None and (len(hit.value.ids) >= k or self.index is None
                                    or len(hit.value.ids) >= len(self.index)):
                ids, scores = hit.value.ids[:k], hit.value.scores[:k]
                retrieve_ms = (time.perf_counter() - start) * 1e3
                vec = encoded = None
                embed_ms = 0.0
                if need_encoded:
                    t_embed = time.perf_counter()
                    vec, encoded = self._encode(task)
                    embed_ms = (time.perf_counter() - t_embed) * 1e3
                return Retrieval(ids=ids, scores=scores, entries=self._entries(ids),
                                 cache_hit=True, cache_kind=hit.kind, embed_ms=embed_ms,
                                 retrieve_ms=retrieve_ms, prior=self.prior, vector=vec,
                                 encoded=encoded)
        t_embed = time.perf_counter()
        vec, encoded = self._encode(task)
        t_query = time.perf_counter()
        embed_ms = (t_query - t_embed) * 1e3
        pairs = None
        reason = ''
        if self.index is None:
            reason = 'no index loaded'
        elif t_query - start > budget_s - self.min_hnsw_budget_s:
            reason = 'budget: {:.1f} ms used before the HNSW query'.format(
                (t_query - start) * 1e3)
        else:
            try:
                pairs = self._hnsw(vec, k)
            except FutureTimeout:
                reason = 'HNSW query exceeded {:.1f} ms'.format(self.hnsw_timeout_s * 1e3)
            except Exception as exc:  # any index failure falls back to exact k-NN
                reason = 'HNSW query failed: {}: {}'.format(type(exc).__name__, exc)
        used_fallback = pairs is None
        if used_fallback:
            if self.knn is None or not len(self.knn):
                raise RetrievalError('retrieval failed ({}) and no exact k-NN core set is '
                                     'loaded'.format(reason))
            pairs = self.knn.query(vec, k)
        ids = tuple(p[0] for p in pairs)
        scores = tuple(p[1] for p in pairs)
        if self.cache is not None and not used_fallback:
            self.cache.put(task, CachedRetrieval(ids, scores))
        end = time.perf_counter()
        return Retrieval(ids=ids, scores=scores, entries=self._entries(ids), cache_hit=False,
                         used_fallback=used_fallback, embed_ms=embed_ms,
                         retrieve_ms=(end - t_query) * 1e3, fallback_reason=reason,
                         vector=vec, prior=self.prior, encoded=encoded)

    def save_recent(self, path, limit: int = 1000) -> int:
        """Persist the recently served tasks of the cache."""
        return self.cache.save_recent(path, limit) if self.cache is not None else 0

    def close(self) -> None:
        """Stop the HNSW worker thread, if one was started."""
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None


def load_or_build_index(index_dir, library, library_path, embedder, cfg=None,
                        build_missing: bool = True, rebuild_unusable: bool = False,
                        log=None):
    """
    Load a verified index; build it when it is missing (or unusable, if allowed).

    A build goes to a temporary folder beside ``index_dir`` and is renamed into
    place, so a reader never sees half an index and two planners starting
    together do not trip over each other. Raises ``IndexLoadError`` when the
    index cannot be used and may not be (re)built.
    """
    import os
    from pathlib import Path
    import shutil
    import tempfile

    from rag_planner.tools.build_index import build_index_dir
    from rag_planner.vector_index import IndexLoadError, MANIFEST_FILE, PlanIndex

    path = Path(index_dir)
    missing = not (path / MANIFEST_FILE).is_file()
    try:
        return PlanIndex.load(path, expected_model_id=embedder.model_id,
                              expected_library_version=library.version)
    except IndexLoadError as exc:
        if not (build_missing if missing else rebuild_unusable):
            raise
        if log is not None:
            log(f'index {path} unusable ({exc}); rebuilding' if not missing else
                f'building the HNSW index of {len(library)} library plans into {path}')
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix='.index-', dir=path.parent))
    build_index_dir(library_path, tmp, embedder=embedder, cfg=cfg)
    if path.exists():
        shutil.rmtree(path, ignore_errors=True)
    try:
        os.replace(tmp, path)
    except OSError:  # another planner built it at the same moment: use theirs
        shutil.rmtree(tmp, ignore_errors=True)
    return PlanIndex.load(path, expected_model_id=embedder.model_id,
                          expected_library_version=library.version)


def open_retriever(library_path=None, index_dir=None, cfg=None, build_if_missing: bool = True,
                   cache_capacity: int = 4096, recent_path=None, threads: int = 1,
                   embedder=None, log=None, **kw) -> Retriever:
    """
    Load embedder, library and index (building the index if it is absent) into a Retriever.

    Raises ``ModelLoadError`` (embedder files), ``LibraryError`` (library) or
    ``IndexLoadError`` (index corrupt / tampered / built from another embedder or
    library version): the caller answers through the rule planner and reports
    ``str(exc)``.  A missing index is built; an unusable one is rebuilt only when
    it is the default cache (``index_dir`` not given), never a folder the caller named.
    """
    from pathlib import Path

    from rag_planner.embedder import Embedder
    from rag_planner.plan_library import read_library
    from rag_planner.tools.build_index import default_index_dir, default_library_path

    library_path = Path(library_path) if library_path else default_library_path()
    named = bool(index_dir)
    index_dir = Path(index_dir) if named else default_index_dir()
    embedder = embedder or Embedder.load(threads=threads)
    library = read_library(library_path, cfg)
    index = load_or_build_index(index_dir, library, library_path, embedder, cfg,
                                build_missing=build_if_missing,
                                rebuild_unusable=build_if_missing and not named, log=log)
    return Retriever.from_parts(embedder, index, library.entries,
                                cache_capacity=cache_capacity, recent_path=recent_path, **kw)


# ---------------------------------------------------------------------- baseline planner
def task_shape(entities) -> tuple:
    """Return the coarse entity shape of a task: bins, station kinds, tote, sku, qty."""
    kinds = {}
    for station in entities.stations:
        kind = station.split('-')[0]
        kinds[kind] = min(kinds.get(kind, 0) + 1, 2)
    return (min(len(entities.bins), 2), tuple(sorted(kinds.items())),
            min(len(entities.totes), 1), min(len(entities.skus), 1), entities.qty is not None)


class ShapePrior:
    """
    P(entity shape | family), counted on the library with add-alpha smoothing.

    The retrieval vote says which families the *wording* resembles; the shape says
    which families the task's *ids* fit (two bins, a SKU and a quantity look like a
    replenishment, a tote and two stations like a transfer).  Multiplying the two is
    a naive-Bayes combination learned from the library alone -- no hand rules.
    """

    def __init__(self, counts: dict, alpha: float = 0.5):
        """Keep ``counts[family][shape]``."""
        self.counts = counts
        self.alpha = float(alpha)
        self._totals = {f: sum(c.values()) for f, c in counts.items()}
        self._n_shapes = len({sh for c in counts.values() for sh in c}) + 1

    @classmethod
    def fit(cls, entries, alpha: float = 0.5, max_entries: int = 20000) -> 'ShapePrior':
        """Count shapes over (at most ``max_entries``) library entries."""
        from collections import Counter

        from rag_planner.task_families import extract_entities

        counts: dict = defaultdict(Counter)
        for n, entry in enumerate(entries):
            if n >= max_entries:
                break
            counts[entry.family][task_shape(extract_entities(entry.task))] += 1
        return cls(dict(counts), alpha)

    def likelihood(self, family: str, shape: tuple) -> float:
        """Return the smoothed P(shape | family)."""
        count = self.counts.get(family, {}).get(shape, 0)
        return (count + self.alpha) / (self._totals.get(family, 0) + self.alpha * self._n_shapes)


def family_weights(retrieval: Retrieval, shape: Optional[tuple] = None) -> list:
    """
    Return ``[(family, weight)]`` of a score-weighted vote, best first (weights sum to 1).

    With ``shape`` and a ``retrieval.prior``, each family's vote is multiplied by
    P(shape | family).
    """
    weights: dict = defaultdict(float)
    for entry, score in zip(retrieval.entries, retrieval.scores):
        weights[entry.family] += max(float(score), 0.0) + 1e-6
    if shape is not None and retrieval.prior is not None:
        for family in weights:
            weights[family] *= retrieval.prior.likelihood(family, shape)
    total = sum(weights.values()) or 1.0
    return sorted(((f, w / total) for f, w in weights.items()), key=lambda fw: (-fw[1], fw[0]))


def vote_family(retrieval: Retrieval) -> tuple:
    """Return ``(family, confidence)`` by score-weighted vote of the retrieved entries."""
    ranked = family_weights(retrieval)
    return ranked[0] if ranked else (None, 0.0)


def retrieval_plan(task: str, state=None, cfg=None, retrieval: Optional[Retrieval] = None):
    """
    Return the retrieval baseline's plan: voted family, entities from the task text.

    The vote of the top-k neighbours is weighted by the library's P(entity shape |
    family) when the retrieval carries a :class:`ShapePrior`; families are then tried
    in vote order and the first whose canonical plan the task's entities can fill
    wins.  Raises ``ValueError`` (``task_families.MissingEntity`` included) when no
    voted family can be built.
    """
    return retrieval_plan_family(task, state, cfg, retrieval)[1]


def retrieval_plan_family(task: str, state=None, cfg=None,
                          retrieval: Optional[Retrieval] = None) -> tuple:
    """Like :func:`retrieval_plan` but return ``(family, steps, confidence)``."""
    from rag_planner.task_families import build_plan, extract_entities

    if retrieval is None or not retrieval.entries:
        raise ValueError('retrieval returned no library entries')
    entities = extract_entities(task)
    ranked = family_weights(retrieval, task_shape(entities))
    first_error = None
    for family, weight in ranked:
        try:
            return family, build_plan(family, entities, state, cfg), weight
        except ValueError as exc:
            first_error = first_error or exc
    raise first_error
