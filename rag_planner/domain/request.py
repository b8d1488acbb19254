"""
Checks of an untrusted request: task text, robot state, deadline.

Requests arrive from the network. :func:`check_request` returns why one is
malformed (the server answers ``INVALID_REQUEST`` with that reason), or ''
when every stage may look at it.
"""

import unicodedata

from rag_planner.domain.robot_state import check_state

# The longest task text any stage reads (the plan library holds the same limit);
# the server's max_task_chars parameter may only lower it.
MAX_TASK_CHARS = 2000
DEADLINE_RANGE_MS = (1, 60000)
# Unicode categories that never belong in a task: control, surrogate, private, unassigned.
_BAD_CATEGORIES = ('Cc', 'Cs', 'Co', 'Cn')


def check_task_text(task: object, max_chars: int = MAX_TASK_CHARS) -> str:
    """Return why ``task`` is not usable text, or ''."""
    if not isinstance(task, str):
        return f'task is not text ({type(task).__name__})'
    if not task.strip():
        return 'task is empty'
    if len(task) > max_chars:
        return f'task has {len(task)} characters, more than max_task_chars {max_chars}'
    bad = sum(1 for ch in task if unicodedata.category(ch) in _BAD_CATEGORIES
              and ch not in '\t\n\r')
    if bad or '\ufffd' in task:
        return 'task contains control or undecodable characters'
    return ''


def check_request(task: object, state: object, deadline_ms: float = 0.0,
                  max_task_chars: int = MAX_TASK_CHARS) -> str:
    """Return why a request is malformed, or '' (``deadline_ms`` 0 = the server's)."""
    problem = check_task_text(task, max_task_chars)
    if problem:
        return problem
    lo, hi = DEADLINE_RANGE_MS
    if deadline_ms and not lo <= deadline_ms <= hi:
        return f'deadline_ms {deadline_ms} outside {lo}..{hi}'
    problems = check_state(state)
    if problems:
        return 'bad robot state: ' + '; '.join(problems[:3])
    return ''


__all__ = ['MAX_TASK_CHARS', 'check_request', 'check_task_text']
