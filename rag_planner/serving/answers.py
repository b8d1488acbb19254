"""
What the planner answers when (DESIGN.md "Answers"): from a plan of the task to the answer.

A planner plans the task as asked. :class:`AnswerPolicy` then decides what the
robot gets:

- the plan itself breaks a rule (bad grammar, a step out of order, an id or
  number the task never gave, a no-op move, an id of the task left out): the
  plan is a planner's mistake (``plan_fault``) and the next opinion is asked;
- only the state or the limits make it fail (a blocked location on its way, a
  quantity over ``max_pick_qty``, a tote already carried): ``UNSAFE_TASK``, the
  message naming the rule and the id, and the safe action instead;
- the battery is low: the plan if it is HALT or starts by charging; else, by
  ``low_battery_policy``, ``charge_first`` (the charge plan, then the task, as one
  validated plan; ``UNSAFE_TASK`` when that is over ``max_steps``) or ``charge_only``
  (``UNSAFE_TASK`` with the charge plan as the safe action);
- a refusal of the task (``TaskRefused``): its code and the safe action.

The safe action is ``HALT``, or the charge plan of ``default_charger`` when the
battery is low and that charger is not blocked. It never moves the robot
towards the task.
"""

from dataclasses import dataclass, replace
from typing import Optional

from rag_planner.domain.answers import ErrorCode
from rag_planner.domain.entities import grounding_of, TaskEntities
from rag_planner.domain.robot_state import battery_is_low, blocking_prefix, RobotState
from rag_planner.domain.safety import (
    charge_plan, Grounding, plan_values, SAFE_PLAN, SafetyConfig, STATE, validate_plan,
    Validation, Violation)
from rag_planner.errors import TaskRefused


@dataclass(frozen=True)
class Verdict:
    """The answer a plan (or a refusal) of the task becomes."""

    error: ErrorCode
    steps: tuple                  # the answer's plan: the task's, or the safe action
    message: str = ''
    plan_fault: bool = False      # the plan is a planner's mistake: ask the next opinion
    validation: Optional[Validation] = None
    missing: str = ''             # MISSING_ARGUMENT: the slot (task_families.SLOTS)


@dataclass(frozen=True)
class TaskFacts:
    """What the policy needs to know about the task text, computed once per request."""

    grounding: Grounding
    ids: tuple                    # the ids the task names that a plan must use


def task_facts(task: str, entities: TaskEntities, state: RobotState,
               safety: SafetyConfig) -> TaskFacts:
    """Return the grounding (rule 7) and the ids a plan of ``task`` must cover."""
    required = tuple(i for i in entities.ids if i not in entities.excluded)
    return TaskFacts(grounding_of(task, state, safety), required)


def charged(state: RobotState) -> RobotState:
    """Return ``state`` with a full battery: the task's own problems, without rule 6."""
    return replace(state, battery_pct=100.0)


def describe(violation: Violation) -> str:
    """Return a violation as the message of a refusal (rule number and id first)."""
    subject = f' ({violation.subject})' if violation.subject else ''
    return f'rule {violation.rule}{subject}: {violation.text}'


class AnswerPolicy:
    """Turns a plan of the task, or a refusal, into the answer for this state."""

    def __init__(self, safety: SafetyConfig):
        """Use the safety limits and the low-battery policy of ``safety``."""
        self.safety = safety

    def safe_action(self, state: RobotState) -> tuple:
        """Return HALT, or the charge plan when the battery is low and the charger free."""
        charger = self.safety.default_charger
        if battery_is_low(state, self.safety.min_battery_pct) and \
                blocking_prefix(charger, state) is None:
            return tuple(charge_plan(charger))
        return SAFE_PLAN

    def refuse(self, refusal: TaskRefused, state: RobotState, prefix: str = '',
               note: str = '') -> Verdict:
        """Return the answer to a task a planner refused: its code and the safe action."""
        slot = getattr(refusal, 'slot', '')
        what = f'missing {slot}: ' if slot else ''
        also = f' ({note})' if note else ''
        return Verdict(refusal.code, self.safe_action(state), f'{what}{prefix}{refusal}{also}',
                       missing=slot or '')

    def judge(self, steps, state: RobotState, facts: TaskFacts, cover: bool = True) -> Verdict:
        """
        Return the answer that the plan ``steps`` of the task becomes in ``state``.

        ``cover`` also requires the plan to use every id the task names (not negated):
        a learned planner's plan that leaves one out does not do the task.  The rule
        planner, which builds plans from those very ids, is judged without it (a task
        may mention a location as context: "... C04-01 is blocked").
        """
        steps = tuple(steps)
        safety = self.safety
        task_check = validate_plan(list(steps), charged(state), safety, facts.grounding)
        if not task_check.ok and not task_check.state_only:
            return Verdict(ErrorCode.NONE, steps, '; '.join(task_check.violations[:3]),
                           plan_fault=True, validation=task_check)
        missing = [i for i in facts.ids if i not in _plan_ids(steps)] if cover else []
        if missing:
            return Verdict(ErrorCode.NONE, steps, f'the plan leaves out {", ".join(missing)} '
                           'that the task names', plan_fault=True, validation=task_check)
        if not task_check.ok:
            first = next(v for v in task_check.details if v.kind == STATE)
            return Verdict(ErrorCode.UNSAFE_TASK, self.safe_action(state),
                           f'unsafe in this state: {describe(first)}', validation=task_check)
        if battery_is_low(state, safety.min_battery_pct) and \
                not validate_plan(list(steps), state, safety).ok:
            return self._low_battery(steps, state, facts)
        final = validate_plan(list(steps), state, safety, facts.grounding)
        if not final.ok:  # cannot happen after the checks above; never let it through
            return Verdict(ErrorCode.NONE, steps, '; '.join(final.violations[:3]),
                           plan_fault=True, validation=final)
        return Verdict(ErrorCode.NONE, steps, validation=final)

    def _low_battery(self, steps: tuple, state: RobotState, facts: TaskFacts) -> Verdict:
        safety = self.safety
        charger = safety.default_charger
        low = (f'battery {state.battery_pct:g}% below min_battery_pct '
               f'{safety.min_battery_pct:g}%')
        if safety.low_battery_policy == 'charge_only':
            return Verdict(ErrorCode.UNSAFE_TASK, self.safe_action(state),
                           f'rule 6 (battery): {low}; low_battery_policy charge_only: '
                           f'charge at {charger} first, then ask again')
        combined = tuple(charge_plan(charger)) + steps
        if len(combined) > safety.max_steps:  # DESIGN: does not fit -> unsafe, charge instead
            return Verdict(ErrorCode.UNSAFE_TASK, self.safe_action(state),
                           f'rule 6 (battery): {low}; charging at {charger} first makes '
                           f'{len(combined)} steps, more than max_steps {safety.max_steps}: '
                           f'charge, then ask again')
        check = validate_plan(list(combined), state, safety, facts.grounding)
        if not check.ok:
            first = check.details[0]
            return Verdict(ErrorCode.UNSAFE_TASK, self.safe_action(state),
                           f'rule 6 (battery): {low}; charging at {charger} first is unsafe: '
                           f'{describe(first)}', validation=check)
        return Verdict(ErrorCode.NONE, combined,
                       f'the robot charges at {charger} first ({low}), then does the task',
                       validation=check)


def _plan_ids(steps: tuple) -> set:
    return {value for step in steps for value in plan_values(step) if not value.isdigit()}


__all__ = ['AnswerPolicy', 'TaskFacts', 'Verdict', 'task_facts']
