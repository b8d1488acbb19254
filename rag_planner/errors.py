"""
Typed failures of the planner, and the one place they are mapped to codes.

The ladder follows Nav2's planner exceptions: every failure a stage can have
is a class, and :func:`fallback_of` / :func:`error_code_of` turn an exception
into the numbers of DESIGN.md (``PlanEvent.FALLBACK_*``, ``GetPlan`` error
codes). Message text is for people; nothing branches on it.

::

    PlannerError
    ├── StageFailure (stage)        a stage did not deliver: the fallback chain answers
    │   ├── StageTimeout            ... in time                       FALLBACK_STAGE_TIMEOUT
    │   └── StageError              ... raised or returned garbage    FALLBACK_STAGE_ERROR
    ├── InvalidPlan                 the primary plan failed the validator FALLBACK_INVALID_PLAN
    ├── LoadError                   a model, library or index cannot be used FALLBACK_DEGRADED
    ├── InvalidRequest              malformed request                   INVALID_REQUEST
    └── TaskRefused                 a planner's answer, not a failure
        ├── NotUnderstood                                               NOT_UNDERSTOOD
        ├── MissingArgument (slot)                                      MISSING_ARGUMENT
        ├── UnsafeTask (rule, subject)                                  UNSAFE_TASK
        └── TooLong                                                     TOO_LONG

``MissingExtra`` is apart: a tool needs an optional extra that is not installed.
"""

import importlib.util
from typing import Optional

from rag_planner.domain.answers import ErrorCode, Fallback


class PlannerError(Exception):
    """Base of the planner's typed failures."""

    fallback: Fallback = Fallback.STAGE_ERROR
    code: ErrorCode = ErrorCode.NONE


class StageFailure(PlannerError):
    """A stage (embed, retrieve, generate, ...) did not deliver; ``stage`` says which."""

    def __init__(self, stage: str, message: str):
        """Keep the stage name; the message says what happened."""
        super().__init__(f'{stage} failed: {message}')
        self.stage = stage


class StageTimeout(StageFailure):
    """A stage missed its budget."""

    fallback = Fallback.STAGE_TIMEOUT


class StageError(StageFailure):
    """A stage raised or returned garbage."""

    fallback = Fallback.STAGE_ERROR


class InvalidPlan(PlannerError):
    """The primary path's plan failed the safety validator (or its confidence floor)."""

    fallback = Fallback.INVALID_PLAN


class LoadError(PlannerError, RuntimeError):
    """A model, the plan library or the index cannot be used."""

    fallback = Fallback.DEGRADED


class InvalidRequest(PlannerError, ValueError):
    """The request is malformed (empty or oversized task, bad state, ...)."""

    fallback = Fallback.NONE
    code = ErrorCode.INVALID_REQUEST


class TaskRefused(PlannerError, ValueError):
    """A planner will not plan this task; the answer says why (never a guess)."""

    fallback = Fallback.NONE
    code = ErrorCode.NOT_UNDERSTOOD
    part = 0  # the part of a composite task it is about (1-based; 0 = the whole task)
    part_text = ''  # that part's text
    family = ''  # the task family it was read as, when one was (MissingArgument)


class NotUnderstood(TaskRefused):
    """Not a task this planner knows, or no stage can tell what it asks."""

    code = ErrorCode.NOT_UNDERSTOOD


class MissingArgument(TaskRefused):
    """The kind of task is clear but a required id or quantity is absent."""

    code = ErrorCode.MISSING_ARGUMENT

    def __init__(self, message: str, slot: str = ''):
        """Keep the missing slot's kind (``bin``, ``sku``, ``quantity``, ...)."""
        super().__init__(message)
        self.slot = slot


class UnsafeTask(TaskRefused):
    """Every plan that does the task breaks a safety rule in this state."""

    code = ErrorCode.UNSAFE_TASK

    def __init__(self, message: str, rule: int = 0, subject: str = ''):
        """Keep the rule number and the id it is about."""
        super().__init__(message)
        self.rule = rule
        self.subject = subject


class TooLong(TaskRefused):
    """The task needs more than ``max_steps`` steps."""

    code = ErrorCode.TOO_LONG


def fallback_of(exc: BaseException) -> Fallback:
    """Return the fallback code of a failure (any untyped exception is a stage error)."""
    return exc.fallback if isinstance(exc, PlannerError) else Fallback.STAGE_ERROR


def error_code_of(exc: BaseException) -> ErrorCode:
    """Return the GetPlan error code of a failure (NONE when the chain can still answer)."""
    return exc.code if isinstance(exc, PlannerError) else ErrorCode.NONE


class MissingExtra(ImportError):
    """A tool needs an optional extra (sim, train, llm) that is not installed."""


EXTRAS = {
    'sim': 'requirements/sim.txt',
    'train': 'requirements/train.txt',
    'llm': 'requirements/llm.txt',
}


def require_extra(extra: str, *modules: str, tool: Optional[str] = None) -> None:
    """Raise MissingExtra, in one line naming what to install, if a module is absent."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        who = f'{tool}: ' if tool else ''
        raise MissingExtra(
            f'{who}needs the {extra!r} extra ({", ".join(missing)} missing): '
            f'pip install -r {EXTRAS[extra]}  (or: pip install "rag_planner[{extra}]")')


__all__ = ['InvalidPlan', 'InvalidRequest', 'LoadError', 'MissingArgument', 'MissingExtra',
           'NotUnderstood', 'PlannerError', 'StageError', 'StageFailure', 'StageTimeout',
           'TaskRefused', 'TooLong', 'UnsafeTask', 'error_code_of', 'fallback_of',
           'require_extra']
