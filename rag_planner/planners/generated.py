"""
The generated pipeline: retrieve, augment, generate under a fixed token budget.

The generator reads the task's MiniLM token states (computed by the retrieve
stage's embedder), the top retrieved library plans and a *hint* plan
(:func:`rule_hint`: the rule planner's plan, else the retrieval baseline's
choice) and decodes a plan under the grammar mask. The engine validates it.
"""

from __future__ import annotations

import time
from typing import Any, Sequence

import numpy as np

from rag_planner.domain.answers import Source
from rag_planner.domain.entities import extract_entities
from rag_planner.domain.plan_grammar import Step
from rag_planner.domain.robot_state import battery_is_low
from rag_planner.domain.safety import SafetyConfig
from rag_planner.domain.task_families import build_plan
from rag_planner.errors import StageError
from rag_planner.planners.base import PlanContext, PlanResult
from rag_planner.planners.retrieval_baseline import (
    degraded_retrieval, RetrievalPlanner, retrieve_stage)
from rag_planner.planners.rule_based import rule_plan


def rule_hint(task: str, state: Any = None, cfg: Any = None,
              retrieved: Sequence[Any] = ()) -> tuple[Step, ...]:
    """
    Return a hint plan for ``task``, or () when there is none.

    The hint is the rule planner's plan; when the rule planner does not
    understand the task, the canonical plan of the first retrieved family
    (in rank order) that the task's entities can fill (the retrieval
    baseline's choice), except under low battery where no such plan is valid.
    """
    try:
        return tuple(rule_plan(task, state, cfg).steps)
    except ValueError:  # NotUnderstood: try the retrieved families
        pass
    families = []
    for r in retrieved:
        fam = getattr(r, 'family', None)
        if fam and fam not in families:
            families.append(fam)
    if not families:
        return ()
    c = cfg if cfg is not None else SafetyConfig()
    if state is not None and battery_is_low(state, c.min_battery_pct):
        return ()
    entities = extract_entities(task)
    for fam in families:
        try:
            return tuple(build_plan(fam, entities, state, cfg))
        except ValueError:  # MissingEntity: this family does not fit the task
            continue
    return ()


class GeneratedPlanner(RetrievalPlanner):
    """Retrieve, augment, generate; the plan's ids are copied from the task."""

    name = Source.GENERATED

    def __init__(self, retriever, generator):
        """Use ``retriever`` (its embedder's token states) and a loaded ``generator``."""
        super().__init__(retriever)
        self.generator = generator

    def plan(self, context: PlanContext) -> PlanResult:
        """Retrieve, then generate the plan from task states and retrieved plans."""
        retrieval = retrieve_stage(self.retriever, context, need_encoded=True)
        encoded = retrieval.encoded
        if encoded is None or not np.all(np.isfinite(encoded.token_states)):
            raise StageError('embed', 'token states are not finite')
        context.enter('generate')
        start = time.perf_counter()
        entries = list(retrieval.entries)
        try:
            hint = rule_hint(context.task, context.state, context.safety, entries) \
                if self.generator.uses_hint else None
            generation = self.generator.generate(
                context.task, context.state, encoded, entries,
                max_new_tokens=context.config['max_new_tokens'], cfg=context.safety,
                hint=hint)
        except Exception as exc:  # noqa: B902 - any generator failure is a stage failure
            raise StageError('generate', repr(exc)) from exc
        context.times.generate_ms = (time.perf_counter() - start) * 1000.0
        code, note = degraded_retrieval(retrieval)
        return PlanResult(tuple(generation.steps), Source.GENERATED, tuple(retrieval.ids),
                          generation.confidence, retrieval.cache_hit, '', degraded=code,
                          note=note)


__all__ = ['GeneratedPlanner', 'rule_hint']
