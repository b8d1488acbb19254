"""Conversions between rag_planner_interfaces messages and the core dataclasses."""

from rag_planner.engine import PlanOutcome, StageTimes
from rag_planner.plan_grammar import Step
from rag_planner.robot_state import RobotState
from rag_planner_interfaces.msg import Plan, PlanStep, StageLatency
from rag_planner_interfaces.msg import RobotState as RobotStateMsg


def state_from_msg(msg: RobotStateMsg) -> RobotState:
    """Core state from a RobotState message (values are checked later, not here)."""
    return RobotState(robot_id=msg.robot_id, location=msg.location,
                      battery_pct=float(msg.battery_pct), carrying=bool(msg.carrying),
                      blocked=tuple(msg.blocked))


def state_to_msg(state: RobotState) -> RobotStateMsg:
    """RobotState message from a core state."""
    return RobotStateMsg(robot_id=state.robot_id, location=state.location,
                         battery_pct=float(state.battery_pct), carrying=bool(state.carrying),
                         blocked=list(state.blocked))


def latency_to_msg(times: StageTimes) -> StageLatency:
    """StageLatency message from stage times."""
    return StageLatency(embed_ms=float(times.embed_ms), retrieve_ms=float(times.retrieve_ms),
                        generate_ms=float(times.generate_ms),
                        validate_ms=float(times.validate_ms), total_ms=float(times.total_ms))


def plan_to_msg(outcome: PlanOutcome) -> Plan:
    """Plan message of an outcome."""
    return Plan(plan_id=outcome.plan_id,
                steps=[PlanStep(action=s.action, args=list(s.args)) for s in outcome.steps],
                source=outcome.source, retrieved_ids=list(outcome.retrieved_ids),
                confidence=float(outcome.confidence))


def steps_from_msg(plan: Plan) -> tuple:
    """Core steps of a Plan message."""
    return tuple(Step(s.action, tuple(s.args)) for s in plan.steps)


def plan_text(plan: Plan) -> str:
    """A Plan message as one line of the plan grammar."""
    return '; '.join(' '.join([s.action, *s.args]) for s in plan.steps)
