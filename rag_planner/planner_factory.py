"""Builds the primary path the loaded files allow, and says why when it is less."""

from typing import Callable

from rag_planner.engine import PrimaryPath
from rag_planner.params import PlannerConfig


def build_primary(config: PlannerConfig, state_dir: str,
                  log: Callable[[str], None] = print) -> tuple:
    """Return (primary path, notes); notes explain every downgrade."""
    notes: list = []
    wanted = config['pipeline']
    if wanted == 'rule_based':
        return PrimaryPath(), notes
    notes.append(f'pipeline {wanted!r} needs retrieval, not built in yet: rule planner answers')
    return PrimaryPath(), notes
