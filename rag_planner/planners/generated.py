"""
The generated pipeline: retrieve, augment, generate under a fixed token budget.

The generator reads the task's MiniLM token states (computed by the retrieve
stage's embedder), the top retrieved library plans and a *hint* plan (the rule
planner's plan; in training :func:`rule_hint`, which falls back on the retrieval
baseline's choice) and decodes a plan under the grammar mask.  It is asked only
about tasks the rule planner plans: the engine validates its plan and refuses it
when it differs from the rule plan.
"""

from __future__ import annotations

from dataclasses import replace
import time
from typing import Any, Sequence

import numpy as np

from rag_planner.domain.answers import Fallback, Source
from rag_planner.domain.entities import extract_entities
from rag_planner.domain.plan_grammar import Step
from rag_planner.domain.robot_state import battery_is_low
from rag_planner.domain.safety import SafetyConfig
from rag_planner.domain.task_families import build_plan
from rag_planner.errors import MissingArgument, NotUnderstood, StageError, TaskRefused
from rag_planner.generation.vocab import NOT_UNDERSTOOD
from rag_planner.planners.base import PlanContext, PlanResult, StageTimes
from rag_planner.planners.retrieval_baseline import (
    degraded_retrieval, RetrievalPlanner, retrieve_stage)
from rag_planner.planners.rule_based import rule_plan
from rag_planner.planners.skeleton_cache import SkeletonCache


def rule_hint(task: str, state: Any = None, cfg: Any = None,
              retrieved: Sequence[Any] = ()) -> tuple[Step, ...]:
    """
    Return a hint plan for ``task``, or () when there is none.

    The hint is the rule planner's plan; when the rule planner does not
    understand the task (it found no family, not a missing argument), the
    canonical plan of the first retrieved family (:func:`retrieved_hint`).
    """
    try:
        return tuple(rule_plan(task, state, cfg).steps)
    except NotUnderstood:  # perhaps a wording it does not know: try the retrieved families
        return retrieved_hint(task, state, cfg, retrieved)
    except TaskRefused:    # it can tell an argument is missing (or the task unsafe): no guess
        return ()


def retrieved_hint(task: str, state: Any = None, cfg: Any = None,
                   retrieved: Sequence[Any] = ()) -> tuple[Step, ...]:
    """
    Return the canonical plan of the first retrieved family that fits ``task``, or ().

    Families in rank order; one fits when the task's entities fill it and its plan
    uses every id the task names (the retrieval baseline's choice, without its
    guesses).  None under low battery, where no such plan is valid.
    """
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
    named = entities.named
    if not named:  # a family filled with no id of the task is a guess (a charge, a HALT)
        return ()
    for fam in families:
        try:
            plan = tuple(build_plan(fam, entities, state, cfg))
        except ValueError:  # MissingEntity: this family does not fit the task
            continue
        if named <= {a for step in plan for a in step.args}:
            return plan
    return ()


class GeneratedPlanner(RetrievalPlanner):
    """Retrieve, augment, generate; the plan's ids are copied from the task."""

    name = Source.GENERATED

    def __init__(self, retriever, generator, skeleton_cache_size: int = 4096):
        """Use ``retriever`` (its embedder's token states) and a loaded ``generator``."""
        super().__init__(retriever)
        self.generator = generator
        self.skeletons = SkeletonCache(skeleton_cache_size)

    def plan(self, context: PlanContext) -> PlanResult:
        """
        Retrieve, then generate the plan from task states and retrieved plans.

        The rule planner's view comes first: when it can tell that an argument is
        missing or the task unsafe, that refusal is the answer and nothing is
        generated (on the dev sets the generator, asked anyway, planned another
        family for such tasks; the model card has the numbers).  When it does not
        understand the task, or a part of a composite, the task is refused.  The
        engine refuses a generated plan that differs from the rule planner's.
        """
        # The plan of the task as asked: the battery is the answer policy's business.
        state = replace(context.state, battery_pct=100.0)
        # A task the rule planner does not understand is refused, the generator not asked:
        # on its own its plans were right about as often as wrong (final3, 300 a subset:
        # 39 exact, 38 wrong plans that pass the validator, e.g. a sprinkler repair read
        # as a spill); asked about a composite's unreadable part, it planned 21 of 1,000
        # dev composites with a question or gibberish part using that part's ids.
        rule = rule_plan(context.task, state, context.safety)
        rule_view = tuple(rule.steps)
        charger = context.safety.default_charger
        if len(rule.parts) > 1:
            return self._plan_parts(context, state, rule, charger)
        # a wording the generator already agreed on with the rule planner: its plan
        # of this task is the rule plan again (planners/skeleton_cache.py)
        hit = self.skeletons.get(context.task, state, charger)
        if hit is not None and hit[0] == rule_view:
            return PlanResult(rule_view, Source.GENERATED, (), hit[1], True, '',
                              note='plan skeleton cache', rule_steps=rule_view)
        generation, retrieval = self._generate(context, state, rule_view)
        if generation.refusal == NOT_UNDERSTOOD:
            raise NotUnderstood('the generator does not understand the task')
        if generation.refusal:
            raise MissingArgument(f'the generator finds no {generation.refusal} in the task',
                                  generation.refusal)
        if tuple(generation.steps) == rule_view:
            self.skeletons.put(context.task, state, charger, rule_view, generation.confidence)
        code, note = degraded_retrieval(retrieval)
        return PlanResult(tuple(generation.steps), Source.GENERATED, tuple(retrieval.ids),
                          generation.confidence, retrieval.cache_hit, '', degraded=code,
                          note=note, rule_steps=rule_view)

    def _generate(self, context: PlanContext, state, hint: tuple) -> tuple:
        """Retrieve and generate for ``context.task``; return (Generation, Retrieval)."""
        retrieval = retrieve_stage(self.retriever, context, need_encoded=True)
        encoded = retrieval.encoded
        if encoded is None or not np.all(np.isfinite(encoded.token_states)):
            raise StageError('embed', 'token states are not finite')
        context.enter('generate')
        start = time.perf_counter()
        try:
            generation = self.generator.generate(
                context.task, state, encoded, list(retrieval.entries),
                max_new_tokens=context.config['max_new_tokens'], cfg=context.safety,
                hint=hint if self.generator.uses_hint else None)
        except Exception as exc:  # noqa: B902 - any generator failure is a stage failure
            raise StageError('generate', repr(exc)) from exc
        context.times.generate_ms = (time.perf_counter() - start) * 1000.0
        return generation, retrieval

    def _plan_parts(self, context: PlanContext, state, rule, charger: str):
        """
        Check a composite part by part: each part's plan is the generator's (or a skeleton).

        A composite's text almost never repeats (three wordings and a connector), so
        whole, it missed the skeleton cache (1.5 % hits at 20 robots x 5 Hz, 3 parts)
        and was generated whole, up to 49 tokens.  Its parts are single tasks whose
        wordings do repeat.  Each part is asked with the request's state, as the rule
        planner planned it; the joined result goes to the engine with the joined rule
        plan, so a part the generator reads otherwise is refused as a disagreement, as
        for any task (``rule.steps`` is ``rule.part_steps`` joined).
        """
        part_rules = rule.part_steps
        steps, ids, confidence, hits, notes = [], [], 1.0, 0, []
        degraded = Fallback.NONE
        times = context.times
        for i, ((text, _family), part_rule) in enumerate(zip(rule.parts, part_rules), 1):
            hit = self.skeletons.get(text, state, charger)
            if hit is not None and hit[0] == part_rule:
                steps.extend(part_rule)
                confidence = min(confidence, hit[1])
                hits += 1
                continue
            part = replace(context, task=text, times=StageTimes())
            generation, retrieval = self._generate(part, state, part_rule)
            for name in ('embed_ms', 'retrieve_ms', 'generate_ms'):
                setattr(times, name, getattr(times, name) + getattr(part.times, name))
            if generation.refusal == NOT_UNDERSTOOD:
                raise NotUnderstood(f'part {i} ({text[:40]!r}): the generator does not '
                                    'understand it')
            if generation.refusal:
                raise MissingArgument(f'part {i} ({text[:40]!r}): the generator finds no '
                                      f'{generation.refusal} in it', generation.refusal)
            if tuple(generation.steps) == part_rule:
                self.skeletons.put(text, state, charger, part_rule, generation.confidence)
            steps.extend(generation.steps)
            ids.extend(retrieval.ids)
            confidence = min(confidence, generation.confidence)
            code, note = degraded_retrieval(retrieval)
            degraded = degraded or code
            notes += [note] if note else []
        if hits == len(part_rules):
            notes.append('plan skeleton cache, every part')
        return PlanResult(tuple(steps), Source.GENERATED, tuple(ids), confidence,
                          hits == len(part_rules), 'composite', degraded=degraded,
                          note='; '.join(notes), rule_steps=tuple(rule.steps))


__all__ = ['GeneratedPlanner', 'retrieved_hint', 'rule_hint']
