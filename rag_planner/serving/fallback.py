"""
The fallback chain: rule planner -> the robot's last-known safe plan *of this task* -> HALT.

It answers when the primary path failed or ran out of time. The rule planner's
plan goes through the answer policy like any other (so an unsafe task is still
refused, with the rule named); a rule planner that can tell an argument is
missing says so. The last-known safe plan is the plan last given to this robot
for the same task (same normalized text), re-judged in the current state: never
the plan of another task. With nothing left: ``NO_PLAN_IN_TIME`` and HALT. The
chain never raises.
"""

from dataclasses import dataclass

from rag_planner.domain.answers import ErrorCode, Fallback, Source
from rag_planner.domain.robot_state import RobotState
from rag_planner.domain.safety import SAFE_PLAN
from rag_planner.errors import NotUnderstood, TaskRefused
from rag_planner.planners.rule_based import rule_plan
from rag_planner.serving.answers import AnswerPolicy, TaskFacts, Verdict
from rag_planner.serving.last_known_safe import SafePlanStore


@dataclass(frozen=True)
class ChainAnswer:
    """The link that answered, its verdict, and what the links before it said."""

    verdict: Verdict
    source: Source
    family: str = ''
    detail: str = ''              # '; '-prefixed remarks of the links that did not answer


class FallbackChain:
    """The links after the primary path, in order."""

    def __init__(self, safe_store: SafePlanStore):
        """Use ``safe_store`` for the last-known safe plans."""
        self.safe_store = safe_store

    def answer(self, task: str, state: RobotState, policy: AnswerPolicy, facts: TaskFacts,
               rule_tried: bool = False, failure: Fallback = Fallback.NONE) -> ChainAnswer:
        """
        Return the first link's answer; ``rule_tried`` skips the rule planner.

        ``failure`` is why the primary path did not answer.  After an invalid plan
        (there was time: the plan was wrong) that the rule planner cannot replace
        because it does not understand the task, the answer is ``NOT_UNDERSTOOD``,
        not ``NO_PLAN_IN_TIME``.
        """
        detail = ''
        not_understood = False
        if not rule_tried:
            try:
                plan = rule_plan(task, state, policy.safety)
                verdict = policy.judge(plan.steps, state, facts, cover=False)
                if not verdict.plan_fault:
                    return ChainAnswer(verdict, Source.RULE_BASED if verdict.error ==
                                       ErrorCode.NONE else Source.SAFE_DEFAULT, plan.family)
                detail += f'; rule plan rejected: {verdict.message}'
            except NotUnderstood as exc:
                detail += f'; rule planner: {exc}'
                not_understood = True
            except TaskRefused as exc:  # it can tell what is missing, unsafe or too long
                return ChainAnswer(policy.refuse(exc, state, 'rule planner: '),
                                   Source.SAFE_DEFAULT)
            except Exception as exc:  # noqa: B902 - the chain must go on
                detail += f'; rule planner failed: {exc!r}'
        last = self.safe_store.get(state.robot_id, task)
        if last:
            verdict = policy.judge(last, state, facts, cover=False)
            if verdict.error == ErrorCode.NONE and not verdict.plan_fault:
                return ChainAnswer(verdict, Source.LAST_KNOWN_SAFE, detail=detail)
            detail += '; last-known safe plan of this task no longer valid'
        if not_understood and failure == Fallback.INVALID_PLAN:
            return ChainAnswer(Verdict(ErrorCode.NOT_UNDERSTOOD, policy.safe_action(state),
                                       'no planner understood the task'),
                               Source.SAFE_DEFAULT, detail=detail)
        return ChainAnswer(Verdict(ErrorCode.NO_PLAN_IN_TIME, SAFE_PLAN,
                                   'no stage could plan this task in time'),
                           Source.SAFE_DEFAULT, detail=detail)
