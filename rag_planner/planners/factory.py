"""
Build the primary path that the loaded files allow, and say why when it is less.

``pipeline`` auto: generated (retrieve -> generate) when the embedder, index,
library and generator all load; else retrieved (the retrieval baseline); else
the rule planner. Every downgrade is a note the server logs, and every answer
of a downgraded server says so (``PlanResult.degraded`` and its note).

``wrap(stage, obj)`` is the one seam through which the serving layer puts its
fault injection around the embedder (``embed``), the index (``retrieve``) and
the generator (``generate``); by default nothing is wrapped.
"""

import os
from typing import Any, Callable, Optional

from rag_planner.domain.safety import SafetyConfig
from rag_planner.generation.runtime import Generator
from rag_planner.params import PlannerConfig
from rag_planner.planners.base import Planner
from rag_planner.planners.generated import GeneratedPlanner
from rag_planner.planners.retrieval_baseline import RetrievalPlanner
from rag_planner.planners.rule_based import RulePlanner
from rag_planner.retrieval.embedder import Embedder
from rag_planner.retrieval.retriever import open_retriever

RECENT_TASKS_FILE = 'recent_tasks.json'


def _no_wrap(stage: str, obj: Any) -> Any:
    return obj


def build_planner(config: PlannerConfig, state_dir: str,
                  wrap: Callable[[str, Any], Any] = _no_wrap,
                  log: Callable[[str], None] = print) -> tuple:
    """Return (primary planner, notes); notes explain every downgrade."""
    wanted = config['pipeline']
    if wanted == 'rule_based':
        return RulePlanner(), []
    try:
        embedder = wrap('embed', Embedder.load(config['embedder_model'] or None))
        recent = os.path.join(state_dir, RECENT_TASKS_FILE) if state_dir else None
        # A named index_dir that is missing or unusable is an error the answers report;
        # the default cache is built (or rebuilt) at start.
        retriever = open_retriever(
            config['library_path'] or None, config['index_dir'] or None,
            SafetyConfig.from_dict(config.safety_dict()),
            build_if_missing=not config['index_dir'], cache_capacity=config['cache_size'],
            recent_path=recent if recent and os.path.exists(recent) else None,
            embedder=embedder, log=log, hnsw_timeout_s=config['retrieve_budget_ms'] / 1000.0)
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


def save_recent(planner: Planner, state_dir: Optional[str]) -> int:
    """Persist the recently served tasks of the retrieval cache (at shutdown)."""
    retriever = getattr(planner, 'retriever', None)
    if retriever is None or not state_dir:
        return 0
    return retriever.save_recent(os.path.join(state_dir, RECENT_TASKS_FILE))


__all__ = ['build_planner', 'save_recent']
