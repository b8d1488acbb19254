"""
The fallback chain: rule planner -> the robot's last-known safe plan -> HALT.

Whatever the chain answers passes the validator in the robot's current state;
a last-known safe plan that no longer does is skipped. The chain never raises.
"""

from dataclasses import dataclass

from rag_planner.domain.answers import Source
from rag_planner.domain.robot_state import RobotState
from rag_planner.domain.safety import SAFE_PLAN, SafetyConfig, validate_plan
from rag_planner.errors import NotUnderstood
from rag_planner.planners.rule_based import rule_plan
from rag_planner.serving.last_known_safe import SafePlanStore


@dataclass(frozen=True)
class ChainAnswer:
    """The plan the chain chose, where it came from, and what the chain saw on the way."""

    steps: tuple
    source: Source
    family: str = ''
    detail: str = ''                  # '; '-prefixed remarks of the links that did not answer


class FallbackChain:
    """The links after the primary path, in order."""

    def __init__(self, safe_store: SafePlanStore):
        """Use ``safe_store`` for the last-known safe plans."""
        self.safe_store = safe_store

    def answer(self, task: str, state: RobotState, safety: SafetyConfig,
               rule_tried: bool = False) -> ChainAnswer:
        """Return the first link's valid plan; ``rule_tried`` skips the rule planner."""
        detail = ''
        if not rule_tried:
            try:
                plan = rule_plan(task, state, safety)
                if validate_plan(list(plan.steps), state, safety).ok:
                    return ChainAnswer(tuple(plan.steps), Source.RULE_BASED, plan.family)
                detail += '; rule plan invalid'
            except NotUnderstood as exc:
                detail += f'; rule planner: {exc}'
            except Exception as exc:  # noqa: B902 - the chain must go on
                detail += f'; rule planner failed: {exc!r}'
        last = self.safe_store.get(state.robot_id)
        if last and validate_plan(list(last), state, safety).ok:
            return ChainAnswer(tuple(last), Source.LAST_KNOWN_SAFE, detail=detail)
        return ChainAnswer(SAFE_PLAN, Source.SAFE_DEFAULT, detail=detail)
