"""
The exact plan a request should get, given the task's example and the robot state.

The wording generator's plan is the answer for a healthy robot.  Under low
battery (safety rule 6) every task except stop and charge becomes the charge
plan of the default charger (HALT when that charger is blocked), as the rule
planner does.  When the canonical plan breaks a safety rule in this state
(a blocked zone on its way) there is no single right answer: any valid plan
is accepted, and the request does not count for the exact-plan ratio.
"""

from typing import Optional, Sequence

from rag_planner.domain.plan_grammar import Step
from rag_planner.domain.robot_state import battery_is_low, blocking_prefix, RobotState
from rag_planner.domain.safety import charge_plan, SafetyConfig, validate_plan

HALT = (Step('HALT'),)


def expected_plan(family: str, plan: Sequence[Step], state: RobotState,
                  cfg: Optional[SafetyConfig] = None) -> Optional[tuple]:
    """Return the one exact plan expected, or None when several answers are right."""
    cfg = cfg if cfg is not None else SafetyConfig()
    if battery_is_low(state, cfg.min_battery_pct) and family not in ('stop', 'charge'):
        if blocking_prefix(cfg.default_charger, state) is not None:
            return HALT
        return tuple(charge_plan(cfg.default_charger))
    plan = tuple(plan)
    if not validate_plan(list(plan), state, cfg).ok:
        return None
    return plan
