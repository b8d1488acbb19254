"""
The vocabulary of an answer, as numbers (DESIGN.md "Messages").

Plan sources, GetPlan's error codes and PlanEvent's fallback codes. The
message types carry the same constants; the core uses these enums so that
nothing downstream (nodes, fleet records, diagnostics) has to read prose.
"""

from enum import Enum, IntEnum


class Source(str, Enum):
    """Where an answer's plan came from (``Plan.SOURCE_*``)."""

    GENERATED = 'generated'
    RETRIEVED = 'retrieved'
    RULE_BASED = 'rule_based'
    LAST_KNOWN_SAFE = 'last_known_safe'
    SAFE_DEFAULT = 'safe_default'

    def __str__(self) -> str:
        """Return the value, as the messages carry it."""
        return self.value


class ErrorCode(IntEnum):
    """GetPlan's error codes; ``success == (error_code == NONE)``."""

    NONE = 0
    INVALID_REQUEST = 1
    NOT_UNDERSTOOD = 2
    MISSING_ARGUMENT = 3
    UNSAFE_TASK = 4
    TOO_LONG = 5
    NO_PLAN_IN_TIME = 6
    INACTIVE = 7


class Fallback(IntEnum):
    """Why the primary path's plan was not the answer (``PlanEvent.FALLBACK_*``)."""

    NONE = 0
    STAGE_TIMEOUT = 1   # a stage missed its budget
    STAGE_ERROR = 2     # a stage raised or returned garbage
    INVALID_PLAN = 3    # the primary plan failed the validator
    OVERLOAD = 4        # queue full: the chain answered at once
    DEGRADED = 5        # a model or the index is not loaded


__all__ = ['ErrorCode', 'Fallback', 'Source']
