"""
Build the primary path that the loaded files allow, and say why when it is less.

``pipeline`` auto: generated (retrieve -> generate) when the embedder, index,
library and generator all load; else retrieved (the retrieval baseline); else
the rule planner. Every downgrade is a note the server logs, and every answer
of a downgraded server says so (``PlanResult.degraded`` and its note).

``wrap(stage, obj)`` is the one seam through which the serving layer puts its
fault injection around the embedder (``embed``), the index (``retrieve``) and
the generator (``generate``); by default nothing is wrapped.

:func:`load_primary` decides where the files come from: a signed generation
(``generation_dir``, checked with ``generation_public_key``: :mod:`.generations`),
or, while no key is configured, the shipped files.  A key with no valid
generation leaves the rule planner answering, and the note says why.
"""

from dataclasses import dataclass
import os
from typing import Any, Callable, Optional

from rag_planner.domain.safety import SafetyConfig
from rag_planner.generation.runtime import Generator
from rag_planner.params import PlannerConfig
from rag_planner.planners.base import Planner
from rag_planner.planners.generated import GeneratedPlanner
from rag_planner.planners.generations import (
    Generation, GenerationError, read_public_key, UnsignedGeneration, verify_generation)
from rag_planner.planners.retrieval_baseline import RetrievalPlanner
from rag_planner.planners.rule_based import RulePlanner
from rag_planner.retrieval.embedder import Embedder
from rag_planner.retrieval.retriever import open_retriever

RECENT_TASKS_FILE = 'recent_tasks.json'


def _no_wrap(stage: str, obj: Any) -> Any:
    return obj


def build_planner(config: PlannerConfig, state_dir: str,
                  wrap: Callable[[str, Any], Any] = _no_wrap,
                  log: Callable[[str], None] = print, embedder: Any = None,
                  warm_cache: bool = True) -> tuple:
    """
    Return (primary planner, notes); notes explain every downgrade.

    ``embedder``: one already loaded (and behind ``wrap``) to share, e.g. the running
    planner's on a reload: the embedder is configuration, not part of a generation.
    ``warm_cache`` False skips precomputing the library's own retrievals (a reload: the
    0.26 s it costs competes with the requests, and a hit saves only the HNSW search).
    """
    wanted = config['pipeline']
    if wanted == 'rule_based':
        return RulePlanner(), []
    try:
        embedder = embedder or wrap('embed', Embedder.load(config['embedder_model'] or None))
        recent = os.path.join(state_dir, RECENT_TASKS_FILE) if state_dir else None
        # A named index_dir that is missing or unusable is an error the answers report;
        # the default cache is built (or rebuilt) at start.
        retriever = open_retriever(
            config['library_path'] or None, config['index_dir'] or None,
            SafetyConfig.from_dict(config.safety_dict()),
            build_if_missing=not config['index_dir'], cache_capacity=config['cache_size'],
            recent_path=recent if recent and os.path.exists(recent) else None,
            embedder=embedder, log=log, hnsw_timeout_s=config['retrieve_budget_ms'] / 1000.0,
            warm=warm_cache)
        retriever.index = wrap('retrieve', retriever.index)
    except Exception as exc:  # noqa: B902 - any load failure degrades, never stops the server
        reason = f'retrieval unavailable ({type(exc).__name__}: {exc}); rule planner answers'
        return RulePlanner(degraded_reason=reason), [reason]
    if wanted == 'retrieved':
        return RetrievalPlanner(retriever), []
    try:
        generator = Generator.load(config['model_dir'] or None,
                                   expected_embedder_id=embedder.model_id)
    except Exception as exc:  # noqa: B902 - a missing or broken model degrades to retrieval
        reason = f'generator unavailable ({type(exc).__name__}: {exc}); retrieval baseline ' \
                 'answers'
        return RetrievalPlanner(retriever, degraded_reason=reason), [reason]
    return GeneratedPlanner(retriever, wrap('generate', generator),
                            skeleton_cache_size=config['skeleton_cache_size']), []


@dataclass(frozen=True)
class LoadedPrimary:
    """The primary planner a configure loaded, why it is less than asked, and its source."""

    planner: Planner
    notes: tuple
    generation: str      # the generation id ('' when only the rule planner answers)
    verified: Optional[Generation] = None  # the signed generation it came from, if any


SHIPPED = 'shipped'


def generation_config(config: PlannerConfig, generation: Generation) -> PlannerConfig:
    """Return ``config`` reading library, index and generator from ``generation``."""
    return (config.with_value('library_path', str(generation.library_path))
            .with_value('index_dir', str(generation.index_dir))
            .with_value('model_dir', str(generation.model_dir)))


def load_generation(config: PlannerConfig) -> Generation:
    """Return the verified generation of ``generation_dir`` (GenerationError says why not)."""
    key_path = config['generation_public_key']
    key = read_public_key(key_path) if key_path else None
    if not config['generation_dir']:
        raise UnsignedGeneration('generation_public_key is set but generation_dir is empty '
                                 '(the shipped files are not signed)')
    return verify_generation(config['generation_dir'], key)


def load_primary(config: PlannerConfig, state_dir: str,
                 wrap: Callable[[str, Any], Any] = _no_wrap,
                 log: Callable[[str], None] = print) -> LoadedPrimary:
    """Load the primary planner from a signed generation, or else the shipped files."""
    if config['pipeline'] == 'rule_based':
        return LoadedPrimary(RulePlanner(), (), '')
    if not (config['generation_dir'] or config['generation_public_key']):
        primary, notes = build_planner(config, state_dir, wrap, log)
        model_id = getattr(getattr(primary, 'generator', None), 'model_id', '')
        return LoadedPrimary(primary, tuple(notes), f'{SHIPPED}:{model_id}' if model_id else
                             SHIPPED if not notes else '')
    try:
        generation = load_generation(config)
    except GenerationError as exc:
        reason = f'no valid generation ({type(exc).__name__}: {exc}); rule planner answers'
        return LoadedPrimary(RulePlanner(degraded_reason=reason), (reason,), '')
    log(f'generation {generation.generation_id} verified ({generation.root})')
    primary, notes = build_planner(generation_config(config, generation), state_dir, wrap, log)
    return LoadedPrimary(primary, tuple(notes), generation.generation_id, generation)


def save_recent(planner: Planner, state_dir: Optional[str]) -> int:
    """Persist the recently served tasks of the retrieval cache (at shutdown)."""
    retriever = getattr(planner, 'retriever', None)
    if retriever is None or not state_dir:
        return 0
    return retriever.save_recent(os.path.join(state_dir, RECENT_TASKS_FILE))


__all__ = ['build_planner', 'generation_config', 'load_generation', 'load_primary',
           'LoadedPrimary', 'save_recent', 'SHIPPED']
