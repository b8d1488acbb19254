"""
Plan skeletons by masked template: a repeated wording skips embedding and generation.

A fleet sends the same wordings again and again with other ids ("Pick 3 units of
SKU-48213 from A12-03 ..." -> "Pick 7 units of SKU-10077 from B02-05 ...").  When the
generator's plan of a task agreed with the rule planner's, the plan is stored as a
*skeleton*: every argument a pointer to the task's copy candidate it came from (by
position, ``generation.candidates.extract_candidates``), to the robot's location or the
default charger, or a constant (``WAIT 60``).  It is keyed by the task's masked template
(``retrieval.cache.template_key``) without the greetings and courtesies at its two ends
(:func:`skeleton_key`: "Hi robot, ... when you get a chance" is the wording "...") and
by the state the generator reads (carrying or not).

On a hit the skeleton is filled from *this* task's candidates, which must have the kinds
of the stored task's, one for one; the result is used only if it equals this task's
rule plan, and the engine validates it as any plan.  So a hit never answers what the
generator and the rule planner did not both say for a task of that wording; what it
skips is asking the generator again.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
import re
import threading
from typing import Any, Optional, Sequence

from rag_planner.domain.plan_grammar import Step
from rag_planner.generation.candidates import extract_candidates
from rag_planner.retrieval.cache import template_key

# Greetings and courtesies at a task's two ends.  They change no plan (the rule planner
# reads past them), but a fleet's operators put them around the same wording in every
# combination: with them in the key, 85 % of the bench feed's keys were new (2,554
# distinct of 3,000 tasks of 155 templates), and "robot 7" or "quick one" added a number
# to the task's copy candidates, so the stored skeleton did not fit either.
_ROBOT = r'robot(?:\s+(?:\d{1,3}|one|two|three|four|five|six|seven|eight|nine|ten))?'
_LEADING_RE = re.compile(
    r'^(?:\W*(?:hey|hi|hello|ok|okay|next\s+task|new\s+job|quick\s+one|heads\s+up|please|'
    r'pls|kindly|could\s+you|can\s+you|would\s+you|' + _ROBOT + r')(?![\w-]))+[\s,:;.!-]*',
    re.I)
_TRAILING_RE = re.compile(
    r'(?:[\s,;:.!-]*\(?(?<![\w-])(?:please|pls|asap|when\s+you\s+get\s+a\s+chance|'
    r'when\s+you\s+have\s+a\s+moment|if\s+you\s+can|if\s+possible|thanks|thank\s+you|'
    r'thx|cheers|urgent|high\s+priority|now|(?:for\s+)?' + _ROBOT + r')\)?)+[\s.!?]*$',
    re.I)


def core_text(task: str) -> str:
    """
    Return ``task`` without the greetings and courtesies at its two ends.

    Only phrases of two closed lists come off, and never everything: a text that is
    nothing but courtesies is its own core.  What a shorter key merges is only ever
    *looked up*: a hit is used when its filled plan equals this task's rule plan
    (module docstring).
    """
    lead = _LEADING_RE.match(task)
    core = task[lead.end():] if lead and lead.end() < len(task) else task
    tail = _TRAILING_RE.search(core)
    if tail and tail.start() > 0:
        core = core[:tail.start()]
    return core if core.strip() else task


def skeleton_key(task: str) -> str:
    """Return the masked template (``template_key``) of ``task``'s :func:`core_text`."""
    return template_key(core_text(task))


@dataclass(frozen=True)
class Skeleton:
    """A plan whose arguments point into the task: see the module docstring."""

    kinds: tuple          # the kinds of the task's candidates, in order
    steps: tuple          # ((action, (pointer, ...)), ...)
    confidence: float


def _pointer(arg: str, values: list, location: str, charger: str) -> Optional[tuple]:
    sources = values.count(arg) + (arg == location) + (arg == charger)
    if sources > 1:
        # ambiguous: "Charge at CHARGER-4" from CHARGER-4 -- the task's id or the robot's
        # location?  The next task of that wording, from elsewhere, would tell them apart.
        return None
    if arg in values:
        return ('c', values.index(arg))
    if arg == location:
        return ('loc',)
    if arg == charger:
        return ('chg',)
    # a report code, DONE, the default WAIT 60: a constant (a hit is used only where it
    # equals the rule plan, so a constant that should have been a pointer does no harm)
    return ('v', arg)


def _arg(pointer: tuple, values: list, location: str, charger: str) -> Optional[str]:
    kind = pointer[0]
    if kind == 'c':
        return values[pointer[1]] if pointer[1] < len(values) else None
    if kind == 'loc':
        return location or None
    if kind == 'chg':
        return charger or None
    return pointer[1]


class SkeletonCache:
    """Thread-safe LRU of plan skeletons (``capacity`` 0: off)."""

    def __init__(self, capacity: int = 4096):
        """Hold up to ``capacity`` skeletons."""
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 0:
            raise ValueError(f'capacity must be an integer >= 0, got {capacity!r}')
        self.capacity = capacity
        self._store: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(task: str, state: Any, core: Optional[str] = None) -> tuple:
        """Return the key of ``task`` in ``state``: :func:`skeleton_key`, carrying or not."""
        core = core_text(task) if core is None else core
        return (template_key(core), bool(getattr(state, 'carrying', False)))

    def put(self, task: str, state: Any, charger: str, steps: Sequence[Step],
            confidence: float = 1.0) -> bool:
        """Store the skeleton of ``steps`` (a plan of ``task``); False if it has none."""
        if not self.capacity:
            return False
        core = core_text(task)  # once: the key and the candidates both read it
        cands = extract_candidates(core)
        values = [c.value for c in cands]
        location = getattr(state, 'location', '') or ''
        out = []
        for step in steps:
            pointers = tuple(_pointer(a, values, location, charger) for a in step.args)
            if any(p is None for p in pointers):
                return False
            out.append((step.action, pointers))
        skeleton = Skeleton(tuple(c.kind for c in cands), tuple(out), float(confidence))
        key = self.key(task, state, core)
        with self._lock:
            self._store[key] = skeleton
            self._store.move_to_end(key)
            while len(self._store) > self.capacity:
                self._store.popitem(last=False)
        return True

    def get(self, task: str, state: Any, charger: str) -> Optional[tuple]:
        """Return ``(steps, confidence)`` filled from ``task``, or None (counted)."""
        if not self.capacity:
            return None
        core = core_text(task)
        key = self.key(task, state, core)
        with self._lock:
            skeleton = self._store.get(key)
            if skeleton is not None:
                self._store.move_to_end(key)
        filled = self._fill(skeleton, core, state, charger) if skeleton else None
        with self._lock:
            if filled is None:
                self.misses += 1
            else:
                self.hits += 1
        return filled

    @staticmethod
    def _fill(skeleton: Skeleton, core: str, state: Any, charger: str) -> Optional[tuple]:
        cands = extract_candidates(core)
        if tuple(c.kind for c in cands) != skeleton.kinds:
            return None  # not the same shape of task, whatever the template key says
        values = [c.value for c in cands]
        location = getattr(state, 'location', '') or ''
        steps = []
        for action, pointers in skeleton.steps:
            args = tuple(_arg(p, values, location, charger) for p in pointers)
            if any(a is None for a in args):
                return None
            steps.append(Step(action, args))
        return tuple(steps), skeleton.confidence

    def stats(self) -> dict:
        """Return hits, misses, hit ratio and size."""
        with self._lock:
            total = self.hits + self.misses
            return {'hits': self.hits, 'misses': self.misses, 'size': len(self._store),
                    'hit_ratio': self.hits / total if total else 0.0}


__all__ = ['core_text', 'Skeleton', 'SkeletonCache', 'skeleton_key']
