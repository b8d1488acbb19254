"""
Build the primary path that the loaded files allow, and say why when it is less.

``pipeline`` auto: generated (retrieve -> generate) when the embedder, index,
library and generator all load; else retrieved (the retrieval baseline); else
the rule planner. Every downgrade is a note the server logs, and every answer
of a downgraded server names it in ``message`` and ``fallback_reason``.
"""

from collections import OrderedDict
import os
import threading
import time
from typing import Callable, Optional

import numpy as np

from rag_planner.engine import PrimaryPath, PrimaryResult, StageError
from rag_planner.faults import FaultInjector
from rag_planner.params import PlannerConfig
from rag_planner.plan_grammar import Step
from rag_planner.rule_planner import rule_plan


class DegradedRulePath(PrimaryPath):
    """The rule planner standing in for a pipeline that could not be loaded."""

    def __init__(self, reason: str):
        self.reason = reason

    def run(self, request, state, safety, config, faults, progress, times):
        """Plan with the rule planner and say why the pipeline is not used."""
        plan = rule_plan(request.task, state, safety)
        return PrimaryResult(tuple(plan.steps), 'rule_based', family=plan.family,
                             fallback_reason=self.reason, note=self.reason)


class _FaultyEmbedder:
    """The embedder behind the fault injector's 'embed' stage."""

    def __init__(self, embedder, faults: FaultInjector):
        self._embedder = embedder
        self._faults = faults

    def _garbage(self, vec):
        return np.full_like(vec, np.nan)

    def embed(self, text):
        garbage = self._faults.hit('embed')
        vec = self._embedder.embed(text)
        return self._garbage(vec) if garbage else vec

    def encode(self, text):
        garbage = self._faults.hit('embed')
        enc = self._embedder.encode(text)
        if garbage:
            enc = type(enc)(self._garbage(enc.vector), self._garbage(enc.token_states),
                            enc.token_ids, enc.offsets)
        return enc

    def __getattr__(self, name):
        return getattr(self._embedder, name)


class _FaultyIndex:
    """The HNSW index behind the fault injector's 'retrieve' stage."""

    def __init__(self, index, faults: FaultInjector):
        self._index = index
        self._faults = faults

    def query(self, vec, k=10):
        if self._faults.hit('retrieve'):
            return [(f'garbage-{i}', 0.0) for i in range(k)]
        return self._index.query(vec, k)

    def __getattr__(self, name):
        return getattr(self._index, name)

    def __len__(self):
        return len(self._index)


class RetrievedPath(PrimaryPath):
    """Retrieve, then the retrieval baseline: voted family, entities from the task."""

    name = 'retrieved'

    def __init__(self, retriever, faults: FaultInjector, degraded: str = ''):
        self.retriever = retriever
        self.faults = faults
        self.degraded = degraded

    def _retrieve(self, task: str, config: PlannerConfig, times):
        budget_s = (config['embed_budget_ms'] + config['retrieve_budget_ms']) / 1000.0
        try:
            retrieval = self.retriever.retrieve(task, k=config['top_k'], budget_s=budget_s)
        except Exception as exc:  # noqa: B902 - any retrieval failure is a stage failure
            raise StageError('retrieve', repr(exc)) from exc
        times.embed_ms = retrieval.embed_ms
        times.retrieve_ms = retrieval.retrieve_ms
        if retrieval.vector is not None and not np.all(np.isfinite(retrieval.vector)):
            raise StageError('embed', 'embedding is not finite')
        if not retrieval.entries:
            raise StageError('retrieve', 'no library entries among the neighbours '
                             f'{list(retrieval.ids)[:3]}')
        return retrieval

    def _note(self, retrieval) -> str:
        notes = [self.degraded] if self.degraded else []
        if retrieval.used_fallback:
            notes.append(f'retrieval answered by exact k-NN: {retrieval.fallback_reason}')
        return '; '.join(notes)

    def run(self, request, state, safety, config, faults, progress, times):
        """Retrieve, vote the family, fill it from the task text."""
        from rag_planner.retriever import retrieval_plan, vote_family
        retrieval = self._retrieve(request.task, config, times)
        try:
            steps = retrieval_plan(request.task, state, safety, retrieval)
        except ValueError as exc:
            raise StageError('retrieve', f'retrieved family cannot be filled: {exc}') from exc
        family, confidence = vote_family(retrieval)
        note = self._note(retrieval)
        return PrimaryResult(tuple(steps), 'retrieved', tuple(retrieval.ids), confidence,
                             retrieval.cache_hit, family, fallback_reason=note, note=note)


class GeneratedPath(RetrievedPath):
    """Retrieve, augment, generate under a fixed token budget."""

    name = 'generated'

    def __init__(self, retriever, embedder, generator, faults: FaultInjector,
                 encoded_cache_size: int = 512):
        super().__init__(retriever, faults)
        self.embedder = embedder
        self.generator = generator
        self._encoded: OrderedDict = OrderedDict()
        self._encoded_size = encoded_cache_size
        self._lock = threading.Lock()

    def _encode(self, task: str, times) -> object:
        """Return the task's Encoded from a small LRU, else from the embedder."""
        with self._lock:
            enc = self._encoded.get(task)
            if enc is not None:
                self._encoded.move_to_end(task)
                return enc
        start = time.perf_counter()
        try:
            enc = self.embedder.encode(task)
        except Exception as exc:  # noqa: B902 - any embedder failure is a stage failure
            raise StageError('embed', repr(exc)) from exc
        times.embed_ms += (time.perf_counter() - start) * 1000.0
        if not np.all(np.isfinite(enc.token_states)):
            raise StageError('embed', 'token states are not finite')
        self._remember(task, enc)
        return enc

    def _remember(self, task: str, enc) -> None:
        with self._lock:
            self._encoded[task] = enc
            self._encoded.move_to_end(task)
            if len(self._encoded) > self._encoded_size:
                self._encoded.popitem(last=False)

    def run(self, request, state, safety, config, faults, progress, times):
        """Retrieve, then generate the plan from task states and retrieved plans."""
        retrieval = self._retrieve(request.task, config, times)
        encoded = retrieval.encoded
        if encoded is None:  # a retrieval cache hit: token states from our own cache
            encoded = self._encode(request.task, times)
        elif not np.all(np.isfinite(encoded.token_states)):
            raise StageError('embed', 'token states are not finite')
        else:
            self._remember(request.task, encoded)
        progress('generate')
        start = time.perf_counter()
        garbage = faults.hit('generate')
        try:
            generation = self.generator.generate(request.task, state, encoded,
                                                 list(retrieval.entries),
                                                 max_new_tokens=config['max_new_tokens'],
                                                 cfg=safety)
        except Exception as exc:  # noqa: B902 - any generator failure is a stage failure
            raise StageError('generate', repr(exc)) from exc
        times.generate_ms = (time.perf_counter() - start) * 1000.0
        steps = tuple(generation.steps)
        if garbage:
            # What a broken model could emit that still parses: unsafe nonsense.
            steps = (Step('PICK', ('SKU-00000', '20')), Step('UNLOAD', ('A01-01',)))
        note = self._note(retrieval)
        return PrimaryResult(steps, 'generated', tuple(retrieval.ids), generation.confidence,
                             retrieval.cache_hit, '', fallback_reason=note, note=note)


def build_primary(config: PlannerConfig, state_dir: str, faults: FaultInjector,
                  log: Callable[[str], None] = print) -> tuple:
    """Return (primary path, notes); notes explain every downgrade."""
    wanted = config['pipeline']
    if wanted == 'rule_based':
        return PrimaryPath(), []
    try:
        from rag_planner.embedder import Embedder
        from rag_planner.retriever import open_retriever
        from rag_planner.safety import SafetyConfig

        embedder = _FaultyEmbedder(Embedder.load(config['embedder_model'] or None), faults)
        recent = os.path.join(state_dir, 'recent_tasks.json') if state_dir else None
        # A named index_dir that is missing or unusable is an error the answers report;
        # the default cache is built (or rebuilt) at start.
        retriever = open_retriever(
            config['library_path'] or None, config['index_dir'] or None,
            SafetyConfig.from_dict(config.safety_dict()),
            build_if_missing=not config['index_dir'], cache_capacity=config['cache_size'],
            recent_path=recent if recent and os.path.exists(recent) else None,
            embedder=embedder, log=log, hnsw_timeout_s=config['retrieve_budget_ms'] / 1000.0)
        retriever.index = _FaultyIndex(retriever.index, faults)
    except Exception as exc:  # noqa: B902 - any load failure degrades, never stops
        reason = f'retrieval unavailable ({type(exc).__name__}: {exc}); rule planner answers'
        return DegradedRulePath(reason), [reason]
    if wanted == 'retrieved':
        return RetrievedPath(retriever, faults), []
    try:
        from rag_planner.generator.runtime import Generator
        generator = Generator.load(config['model_dir'] or None,
                                   expected_embedder_id=embedder.model_id)
    except Exception as exc:  # noqa: B902 - a missing model degrades to retrieval
        reason = f'generator unavailable ({type(exc).__name__}: {exc}); retrieval baseline ' \
                 'answers'
        return RetrievedPath(retriever, faults, degraded=reason), [reason]
    return GeneratedPath(retriever, embedder, generator, faults), []


def save_recent(primary: PrimaryPath, state_dir: Optional[str]) -> int:
    """Persist the recently served tasks of the retrieval cache (at shutdown)."""
    retriever = getattr(primary, 'retriever', None)
    if retriever is None or not state_dir:
        return 0
    return retriever.save_recent(os.path.join(state_dir, 'recent_tasks.json'))
