"""
Composite tasks: where a text joins several tasks ("A, then B; finally C").

:func:`split_parts` cuts a task text at the connectors people use between
tasks -- "then", "and then", "after that", "afterwards", "finally", "first ...
then ...", ";" and a new sentence -- and drops parts that are only politeness
("Thanks!", "asap").  It does not decide whether the text *is* composite: one
task is often written across a connector ("Go to A12-03, pick 3 of SKU-48213,
then take them to PACK-4.").  The planners decide that (``planners/composite``):
a text is one task when one plan covers every id it names.
"""

from __future__ import annotations

import re

MAX_SUBTASKS = 3

# Between two parts; each alternative eats the comma or "and" before it.
_CONNECTOR_RE = re.compile(
    r'(?:\s*[,;]?\s*(?<![\w-])(?:and\s+)?(?:then|after\s+that|afterwards|after\s+this|'
    r'finally|lastly|last\s+of\s+all|next(?=\s*,)|followed\s+by|subsequently|once\s+finished|'
    r'(?:as\s+soon\s+as|once|when|after)\s+(?:that\s+is|that\'s|you\s+are|you\'re|you\s+have|'
    r'you\'ve)\s+(?:done|finished)(?:\s+(?:with\s+)?(?:that|it|this))?)(?![\w-])\s*,?\s*)'
    r'|(?:\s*[,;.]?\s*(?<![\w-])step\s+(?:one|two|three|four|[1-9])\s*[:.)-]\s*)'
    r'|(?:\s*;\s*)'
    r'|(?:(?<=[.!?])\s+(?=[A-Za-z]))', re.I)
_LEADING_RE = re.compile(r'^\W*(?:(?:first(?:\s+of\s+all)?|firstly|to\s+start|and|also)'
                         r'(?![\w-])\W*)*', re.I)
# A part made of these words only is politeness, not a task.
_FILLER_WORDS = frozenset(
    'thanks thank you thx cheers please pls plz ok okay great cool asap urgent now quickly '
    'high priority when get a chance if can possible much appreciated ty robot for sure '
    'appreciate it good job done that is all hey hi hello next task quick one new job heads '
    'up'.split())
# "Nothing else for you tonight": tells the robot no task (the task comes in another part).
_NOTHING_ELSE_RE = re.compile(r"(?<![\w-])(?:nothing\s+(?:else|more)|that'?s\s+(?:all|it)|"
                              r"no\s+(?:more|other)\s+(?:tasks?|jobs?|work))"
                              r"(?:\s+(?:for\s+you|to\s+do|for|tonight|today|now))*(?![\w-])",
                              re.I)
_WORD_RE = re.compile(r"[A-Za-z]+(?:'[a-z]+)?")
# A reference of the sender's system: "Ticket rdlsbq1.", "Ref: 4711", "order #A-77".
_REFERENCE_RE = re.compile(r'^\W*(?:ticket|ref(?:erence)?|order|job|request|case|po|wo)\b'
                           r'(?:\s*(?:no\.?|number|id))?[\s#:.-]*[\w-]+\W*$', re.I)


def is_filler(part: str) -> bool:
    """Return True for a part that asks nothing ("Thanks!", "asap, robot 7", "Ticket 4711")."""
    if _REFERENCE_RE.match(part):
        return True
    part = _NOTHING_ELSE_RE.sub(' ', part)
    words = _WORD_RE.findall(part.lower())
    rest = re.sub(r"[A-Za-z]+(?:'[a-z]+)?|\d+|[\s\W_]", '', part)
    # "#$%^&*()" is no politeness: a part of no words at all is not filler either
    return bool(words) and not rest and all(w in _FILLER_WORDS for w in words)


def split_spans(task: str) -> list[tuple[int, int]]:
    """
    Return the (start, end) of every part of ``task`` between connectors.

    Politeness-only parts are dropped; a leading "first", "and" or "also" and the
    punctuation around a part are outside its span.  A text without a connector is
    one span.
    """
    if not isinstance(task, str) or not task.strip():
        return []
    spans, pos = [], 0
    for m in list(_CONNECTOR_RE.finditer(task)) + [None]:
        end = m.start() if m is not None else len(task)
        piece = task[pos:end]
        lead = _LEADING_RE.match(piece)
        start = pos + (lead.end() if lead else 0)
        while start < end and task[start] in ' \t\r\n,;:-':
            start += 1
        stop = end
        while stop > start and task[stop - 1] in ' \t\r\n,;:-':
            stop -= 1
        if stop <= start and piece.strip(' \t\r\n,;:-.!?'):
            # no words, only signs ("#$%^&*()"): a part no one can read, not nothing
            start = pos + len(piece) - len(piece.lstrip())
            stop = pos + len(piece.rstrip())
        if stop > start and not is_filler(task[start:stop]):
            spans.append((start, stop))
        if m is None:
            break
        pos = m.end()
    return spans or [(0, len(task))]


def split_parts(task: str) -> list[str]:
    """Return the texts of :func:`split_spans` (a text without a connector: one part)."""
    return [task[a:b] for a, b in split_spans(task)]


__all__ = ['MAX_SUBTASKS', 'is_filler', 'split_parts', 'split_spans']
