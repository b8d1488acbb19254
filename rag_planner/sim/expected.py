"""
The exact answer a request should get, given the task's example and the robot state.

The wording generator's plan is the plan of the task. What the robot must get in
its state follows DESIGN.md "Answers", as the answer policy of the server decides
it: the plan, or a refusal with its code and safe action (a blocked location on
the plan's way, low battery under ``charge_only``, ...).
"""

from typing import Optional, Sequence

from rag_planner.domain.answers import ErrorCode
from rag_planner.domain.entities import extract_entities
from rag_planner.domain.plan_grammar import Step
from rag_planner.domain.robot_state import RobotState
from rag_planner.domain.safety import SafetyConfig
from rag_planner.serving.answers import AnswerPolicy, task_facts


def expected_answer(task: str, plan: Sequence[Step], state: RobotState,
                    cfg: Optional[SafetyConfig] = None) -> tuple:
    """Return (error code, plan) the robot must get for ``task`` whose plan is ``plan``."""
    cfg = cfg if cfg is not None else SafetyConfig()
    facts = task_facts(task, extract_entities(task), state, cfg)
    verdict = AnswerPolicy(cfg).judge(tuple(plan), state, facts)
    if verdict.plan_fault:  # the wording generator's plan itself: a bug of the generator
        raise ValueError(f'expected plan of {task!r} is not a valid plan: {verdict.message}')
    return ErrorCode(verdict.error), tuple(verdict.steps)
