"""Conversions between rag_planner_interfaces messages and the core dataclasses."""

from rag_planner_interfaces.msg import Plan, PlanStep, RobotState as RobotStateMsg, StageLatency

from rag_planner.domain.answers import ErrorCode
from rag_planner.domain.plan_grammar import Step
from rag_planner.domain.robot_state import RobotState
from rag_planner.planners.base import StageTimes
from rag_planner.serving.request import PlanOutcome


def state_from_msg(msg: RobotStateMsg) -> RobotState:
    """Convert a RobotState message (values are checked later, not here)."""
    return RobotState(robot_id=msg.robot_id, location=msg.location,
                      battery_pct=float(msg.battery_pct), carrying=bool(msg.carrying),
                      blocked=tuple(msg.blocked))


def state_to_msg(state: RobotState) -> RobotStateMsg:
    """Convert a core state to a RobotState message."""
    return RobotStateMsg(robot_id=state.robot_id, location=state.location,
                         battery_pct=float(state.battery_pct), carrying=bool(state.carrying),
                         blocked=list(state.blocked))


def latency_to_msg(times: StageTimes) -> StageLatency:
    """Convert stage times to a StageLatency message."""
    return StageLatency(embed_ms=float(times.embed_ms), retrieve_ms=float(times.retrieve_ms),
                        generate_ms=float(times.generate_ms),
                        validate_ms=float(times.validate_ms), total_ms=float(times.total_ms))


def plan_to_msg(outcome: PlanOutcome) -> Plan:
    """Convert an outcome to a Plan message."""
    return Plan(plan_id=outcome.plan_id, robot_id=outcome.robot_id,
                steps=[PlanStep(action=s.action, args=list(s.args)) for s in outcome.steps],
                source=str(outcome.source), retrieved_ids=list(outcome.retrieved_ids),
                confidence=float(outcome.confidence))


def error_name(code: int) -> str:
    """Return the name of a GetPlan error code (``NOT_UNDERSTOOD``), or the number."""
    try:
        return ErrorCode(int(code)).name
    except ValueError:
        return str(code)


def steps_from_msg(plan: Plan) -> tuple:
    """Convert a Plan message to core steps."""
    return tuple(Step(s.action, tuple(s.args)) for s in plan.steps)


def plan_text(plan: Plan) -> str:
    """Format a Plan message as one line of the plan grammar."""
    return '; '.join(' '.join([s.action, *s.args]) for s in plan.steps)
