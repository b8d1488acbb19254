"""
The retrieval baseline: the family by vote of the nearest library plans, ids from the task.

:func:`retrieve_stage` is the retrieve stage as every retrieval-based planner
runs it (budget, timing, typed failures). :func:`retrieval_plan` turns a
retrieval into a plan: the score-weighted vote of the top-k neighbours,
weighted by the library's P(entity shape | family) (:class:`ShapePrior`),
then the canonical plan of the first voted family the task's entities fill.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Optional

import numpy as np

from rag_planner.domain.answers import Fallback, Source
from rag_planner.domain.entities import extract_entities
from rag_planner.domain.task_families import build_plan
from rag_planner.errors import StageError, TaskRefused
from rag_planner.planners.base import PlanContext, Planner, PlanResult
from rag_planner.retrieval.retriever import Retrieval, Retriever


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


def family_weights(retrieval: Retrieval, shape: Optional[tuple] = None,
                   prior: Optional[ShapePrior] = None) -> list:
    """
    Return ``[(family, weight)]`` of a score-weighted vote, best first (weights sum to 1).

    With ``shape`` and a ``prior``, each family's vote is multiplied by P(shape | family).
    """
    weights: dict = defaultdict(float)
    for entry, score in zip(retrieval.entries, retrieval.scores):
        weights[entry.family] += max(float(score), 0.0) + 1e-6
    if shape is not None and prior is not None:
        for family in weights:
            weights[family] *= prior.likelihood(family, shape)
    total = sum(weights.values()) or 1.0
    return sorted(((f, w / total) for f, w in weights.items()), key=lambda fw: (-fw[1], fw[0]))


def vote_family(retrieval: Retrieval) -> tuple:
    """Return ``(family, confidence)`` by score-weighted vote of the retrieved entries."""
    ranked = family_weights(retrieval)
    return ranked[0] if ranked else (None, 0.0)


def retrieval_plan_family(task: str, state=None, cfg=None,
                          retrieval: Optional[Retrieval] = None,
                          prior: Optional[ShapePrior] = None) -> tuple:
    """
    Return ``(family, steps, weight)`` of the retrieval baseline.

    Families are tried in vote order and the first whose canonical plan the
    task's entities can fill wins.  Raises ``ValueError`` (``MissingEntity``
    included) when no voted family can be built.
    """
    if retrieval is None or not retrieval.entries:
        raise ValueError('retrieval returned no library entries')
    entities = extract_entities(task)
    ranked = family_weights(retrieval, task_shape(entities), prior)
    first_error = None
    for family, weight in ranked:
        try:
            return family, build_plan(family, entities, state, cfg), weight
        except ValueError as exc:
            first_error = first_error or exc
    raise first_error


def retrieval_plan(task: str, state=None, cfg=None, retrieval: Optional[Retrieval] = None,
                   prior: Optional[ShapePrior] = None) -> list:
    """Return the retrieval baseline's plan (see :func:`retrieval_plan_family`)."""
    return retrieval_plan_family(task, state, cfg, retrieval, prior)[1]


def retrieve_stage(retriever: Retriever, context: PlanContext,
                   need_encoded: bool = False) -> Retrieval:
    """Run the retrieve stage for ``context``: times recorded, failures typed."""
    config = context.config
    budget_s = (config['embed_budget_ms'] + config['retrieve_budget_ms']) / 1000.0
    try:
        retrieval = retriever.retrieve(context.task, k=config['top_k'], budget_s=budget_s,
                                       need_encoded=need_encoded)
    except Exception as exc:  # noqa: B902 - any retrieval failure is a stage failure
        raise StageError('retrieve', repr(exc)) from exc
    context.times.embed_ms = retrieval.embed_ms
    context.times.retrieve_ms = retrieval.retrieve_ms
    if retrieval.vector is not None and not np.all(np.isfinite(retrieval.vector)):
        raise StageError('embed', 'embedding is not finite')
    if not retrieval.entries:
        raise StageError('retrieve', 'no library entries among the neighbours '
                         f'{list(retrieval.ids)[:3]}')
    return retrieval


def degraded_retrieval(retrieval: Retrieval, reason: str = '') -> tuple:
    """Return ``(Fallback, note)`` of a retrieval answered in a degraded way."""
    notes = [reason] if reason else []
    code = Fallback.DEGRADED if reason else Fallback.NONE
    if retrieval.used_fallback:
        notes.append(f'retrieval answered by exact k-NN: {retrieval.fallback_reason}')
        code = code or retrieval.fallback
    return code, '; '.join(notes)


class RetrievalPlanner(Planner):
    """Retrieve, then the retrieval baseline: voted family, entities from the task."""

    name = Source.RETRIEVED

    def __init__(self, retriever: Retriever, degraded_reason: str = ''):
        """Use ``retriever``; ``degraded_reason`` says why the generator is not used."""
        self.retriever = retriever
        self.degraded_reason = degraded_reason
        self.prior = ShapePrior.fit(retriever.library.values())

    def plan(self, context: PlanContext) -> PlanResult:
        """Retrieve, vote the family, fill it from the task text."""
        retrieval = retrieve_stage(self.retriever, context)
        try:
            family, steps, weight = retrieval_plan_family(
                context.task, context.state, context.safety, retrieval, self.prior)
        except TaskRefused:  # the voted family lacks an argument the task does not give
            raise
        except ValueError as exc:
            raise StageError('retrieve', f'retrieved family cannot be filled: {exc}') from exc
        _, confidence = vote_family(retrieval)
        code, note = degraded_retrieval(retrieval, self.degraded_reason)
        return PlanResult(tuple(steps), Source.RETRIEVED, tuple(retrieval.ids), confidence,
                          retrieval.cache_hit, family, degraded=code, note=note)

    def close(self) -> None:
        """Stop the retriever's HNSW thread."""
        self.retriever.close()


__all__ = ['RetrievalPlanner', 'ShapePrior', 'family_weights', 'retrieval_plan',
           'retrieval_plan_family', 'retrieve_stage', 'task_shape', 'vote_family']
