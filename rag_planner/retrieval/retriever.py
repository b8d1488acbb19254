"""
Retrieval stage: cache -> embed -> HNSW, with an exact k-NN fallback.

:meth:`Retriever.retrieve` answers ``k`` nearest library entries for a task:

1. the :class:`~rag_planner.retrieval.cache.PlanCache` (exact text, then id-masked
   template key) -- no embedding at all on a hit;
2. the embedder (MiniLM int8, one thread);
3. the HNSW index; if it raises, or the time left in ``budget_s`` after embedding
   is below ``min_hnsw_budget_s``, or (with ``hnsw_timeout_s``) the query does not
   come back in time, the :class:`~rag_planner.retrieval.exact_knn.ExactKnn` over the small
   core set answers instead and ``used_fallback`` says so.

The planners that use a retrieval (the retrieval baseline, the generated
pipeline) are in :mod:`rag_planner.planners`; fault injection wraps the
embedder and the index from outside (:mod:`rag_planner.serving.faults`).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor, TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from pathlib import Path
import threading
import time
from typing import Optional

import numpy as np

from rag_planner.domain.answers import Fallback
from rag_planner.paths import default_index_dir, default_library_path
from rag_planner.retrieval.cache import CachedRetrieval, PlanCache
from rag_planner.retrieval.embedder import Embedder
from rag_planner.retrieval.exact_knn import ExactKnn
from rag_planner.retrieval.index_build import load_or_build_index
from rag_planner.retrieval.plan_library import read_library

WARM_CHUNK = 128  # library entries per warm-up query (see Retriever.warm)


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
    fallback: Fallback = Fallback.NONE   # why the exact k-NN answered (NONE: HNSW did)
    vector: Optional[np.ndarray] = field(default=None, repr=False, compare=False)
    encoded: object = field(default=None, repr=False, compare=False)


class Retriever:
    """Cache + embedder + HNSW index + exact k-NN fallback over a plan library."""

    def __init__(self, embedder, index, knn: Optional[ExactKnn], cache: Optional[PlanCache],
                 library, min_hnsw_budget_s: float = 0.002,
                 hnsw_timeout_s: Optional[float] = None):
        """
        Wire the parts; ``library`` is a list of entries or a dict id -> entry.

        With ``hnsw_timeout_s`` the HNSW query runs on a helper thread and the exact
        k-NN answers when it does not come back in time (a hung index never holds
        the request).
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
        names = self.index.ids
        # In chunks, each followed by a yield of the interpreter lock: a planner that loads
        # a new generation beside the requests (a reload) must not hold it for long
        # (all 2,420 entries at once: get_items 57 ms + knn_query 72 ms in one go).
        for start in range(0, len(ids), WARM_CHUNK):
            chunk = ids[start:start + WARM_CHUNK]
            labels, scores = self.index.query_labels(self.index.get_vectors(chunk), k=min(
                k, len(self.index)))
            for entry_id, lab_row, score_row in zip(chunk, labels, scores):
                value = CachedRetrieval(tuple(names[int(x)] for x in lab_row),
                                        tuple(float(s) for s in score_row))
                self.cache.put(self.library[entry_id].task, value, served=False)
                count += 1
            time.sleep(0)
        if recent_path is not None:
            count += self.cache.load_recent(recent_path)
        return count

    # ------------------------------------------------------------------ query
    def _hnsw(self, vec, k: int):
        if self.hnsw_timeout_s is None:
            return self.index.query(vec, k)
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix='hnsw')
            pool = self._pool
        future = pool.submit(self.index.query, vec, k)
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
                encoded = None
                embed_ms = 0.0
                if need_encoded:
                    t_embed = time.perf_counter()
                    encoded = self.embedder.encode(task)
                    embed_ms = (time.perf_counter() - t_embed) * 1e3
                return Retrieval(ids=ids, scores=scores, entries=self._entries(ids),
                                 cache_hit=True, cache_kind=hit.kind, embed_ms=embed_ms,
                                 retrieve_ms=retrieve_ms,
                                 vector=encoded.vector if encoded is not None else None,
                                 encoded=encoded)
        t_embed = time.perf_counter()
        encoded = self.embedder.encode(task)
        vec = encoded.vector
        t_query = time.perf_counter()
        embed_ms = (t_query - t_embed) * 1e3
        pairs = None
        reason, why = '', Fallback.NONE
        if self.index is None:
            reason, why = 'no index loaded', Fallback.DEGRADED
        elif t_query - start > budget_s - self.min_hnsw_budget_s:
            reason = 'budget: {:.1f} ms used before the HNSW query'.format(
                (t_query - start) * 1e3)
            why = Fallback.STAGE_TIMEOUT
        else:
            try:
                pairs = self._hnsw(vec, k)
            except FutureTimeout:
                reason = 'HNSW query exceeded {:.1f} ms'.format(self.hnsw_timeout_s * 1e3)
                why = Fallback.STAGE_TIMEOUT
            except Exception as exc:  # noqa: B902 - any index failure falls back to exact k-NN
                reason = 'HNSW query failed: {}: {}'.format(type(exc).__name__, exc)
                why = Fallback.STAGE_ERROR
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
                         fallback=why, vector=vec, encoded=encoded)

    def save_recent(self, path, limit: int = 1000) -> int:
        """Persist the recently served tasks of the cache."""
        return self.cache.save_recent(path, limit) if self.cache is not None else 0

    def close(self) -> None:
        """Stop the HNSW worker thread, if one was started."""
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None


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


__all__ = ['Retrieval', 'RetrievalError', 'Retriever', 'open_retriever']
