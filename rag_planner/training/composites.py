"""
Composite tasks ("A, then B") for training and evaluation, held out twice.

A composite joins two or three one-family tasks of one split's wording templates with
a connector people use (:data:`CONNECTORS_2`, :data:`CONNECTORS_3`); its plan is the
parts' plans in order.  The *combination of families* is held out too: every ordered
combination is in ``train`` or ``held`` (:func:`combination_split`, a stable hash), and
the generator trains on train combinations of train templates only, while the
evaluation subsets use held combinations of their split's templates.

Subsets (registered in :data:`rag_planner.training.eval_sets.SUBSETS`): ``composite``
(healthy robot; over ``max_steps`` the expected answer is ``TOO_LONG``),
``composite_low_battery`` (the charge-first plan), ``composite_missing`` (one part
misses an argument: the whole task is refused with ``MISSING_ARGUMENT``) and
``composite_out_of_scope`` (a task joined with a text that is no task, "..., then tell
me a joke": ``NOT_UNDERSTOOD``, never the plan of the task alone).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
import hashlib
import random
import re
from typing import Callable, Optional

from rag_planner.domain.answers import ErrorCode
from rag_planner.domain.safety import SafetyConfig
from rag_planner.domain.task_families import FAMILIES
from rag_planner.training.eval_answers import expected_answer, HEALTHY, make_case, safe_action
from rag_planner.training.eval_templates import (
    connectors_of, generate_examples, NEGATIVE_TEMPLATES, negatives_of, REQUIRED_SLOTS)

CONNECTORS_2 = ('{a}, then {b}', '{a} and then {b}', '{a}. After that, {b}',
                '{a}; afterwards {b}', '{a}. Finally, {b}', 'First {a}, then {b}', '{a}; {b}',
                '{a}. {b}', '{a}, after that {b}', '{a}. Then {b}')
CONNECTORS_3 = ('{a}, then {b}, and finally {c}', 'First {a}; then {b}; finally {c}',
                '{a}. Then {b}. After that, {c}', '{a}; {b}; {c}', '{a}, then {b}, then {c}',
                '{a}. Afterwards {b}. Finally, {c}')
HELD_SHARE = 0.4  # of the ordered family combinations, held out from training
_ID_START = re.compile(r'^(?:[A-F]\d{2}-\d{2}|[A-Z]{3,}[-# ]?\d)', re.I)


@dataclass(frozen=True)
class Composite:
    """A composite task text, its parts' families and templates, and its joined plan."""

    task: str
    families: tuple
    template_ids: tuple
    plan: tuple


def combination_split(families) -> str:
    """Return 'train' or 'held' for an ordered combination of families (stable)."""
    digest = hashlib.sha256('+'.join(families).encode()).digest()
    return 'held' if digest[0] / 256.0 < HELD_SHARE else 'train'


def _sentence(text: str) -> str:
    return text.strip().rstrip('.!?;, ')


def _joined(texts, rng: random.Random, split: str = '') -> str:
    """
    Join part texts with a connector (lower-case a part's first letter mid-sentence).

    A blind split with connectors of its own uses those.
    """
    own = connectors_of(split) if split else {}
    forms = (own.get('two') or CONNECTORS_2) if len(texts) == 2 \
        else (own.get('three') or CONNECTORS_3)
    form = rng.choice(forms)
    parts = [_sentence(t) for t in texts]
    out = {}
    for key, part in zip('abc', parts):
        i = form.index('{' + key + '}')
        start = i == 0 or form[:i].rstrip().endswith(('.', '!', '?'))
        if start:
            part = part[:1].upper() + part[1:]
        elif not _ID_START.match(part):
            part = part[:1].lower() + part[1:]
        out[key] = part
    text = form.format(**out)
    if text.startswith('First '):
        text = 'First ' + text[6:7].lower() + text[7:] if not _ID_START.match(text[6:]) \
            else text
    return text + rng.choice(('.', '.', '', '!'))


def plausible(families) -> bool:
    """
    Return True for a combination people would send.

    No family twice in a row ("charge, then charge"); a stop or a park (which ends in
    HALT) only as the last part (nothing moves after a HALT).
    """
    ends = ('stop', 'park')
    return all(a != b for a, b in zip(families, families[1:])) \
        and not any(f in ends for f in families[:-1])


def _families(rng: random.Random, n_parts: int, which: str) -> Optional[tuple]:
    for _ in range(50):
        fams = tuple(rng.choice(FAMILIES) for _ in range(n_parts))
        if plausible(fams) and combination_split(fams) == which:
            return fams
    return None


def composite_examples(n: int, seed: int, split: str, which: str = 'held',
                       parts=(2, 3), cfg: Optional[SafetyConfig] = None) -> list[Composite]:
    """Return ``n`` composites of ``split``'s templates and ``which`` combinations."""
    rng = random.Random(f'composite/{split}/{which}/{seed}')
    out = []
    while len(out) < n:
        fams = _families(rng, rng.choice(parts), which)
        if fams is None:
            continue
        exs = [generate_examples(1, rng.randrange(1 << 30), split, families=[f], noise=False,
                                 cfg=cfg)[0] for f in fams]
        ids = [a for ex in exs for a in set(ex.entities.ids)]
        if len(ids) != len(set(ids)):
            continue  # parts about different things: no id in two parts
        plan = tuple(step for ex in exs for step in ex.plan)
        out.append(Composite(_joined([ex.task for ex in exs], rng, split), fams,
                             tuple(ex.template_id for ex in exs), plan))
    return out


# --------------------------------------------------------------------------- subsets
def _composite_case(rng, split, cfg, policy, state_of) -> Callable:
    def make():
        c = composite_examples(1, rng.randrange(1 << 30), split, cfg=cfg)[0]
        state = state_of(rng)
        code, plan, rule = expected_answer('composite', c.plan, state, cfg, policy)
        return make_case(c.task, state, code, plan, '+'.join(c.template_ids), cfg,
                         family='composite', rule=rule, task_plan=c.plan)
    return make


def composite(rng, split, cfg, policy, noise=True) -> Callable:
    """Make composite cases for a healthy robot."""
    return _composite_case(rng, split, cfg, policy, lambda r: HEALTHY)


def composite_low_battery(rng, split, cfg, policy, noise=True) -> Callable:
    """Make composite cases for a robot below min_battery_pct (charge first, or refuse)."""
    hi = min(14.0, cfg.min_battery_pct - 0.1)
    return _composite_case(rng, split, cfg, policy,
                           lambda r: replace(HEALTHY, battery_pct=round(r.uniform(3.0, hi), 1)))


# The families whose tasks name nothing that could fill a missing slot: a composite of a
# pick without its destination and a task that names a location could be read as one pick
# to that location, so the other part of a composite_missing case is one of these.
_SLOT_FREE: dict = {'sku': ('putaway', 'transfer', 'charge', 'park', 'spill', 'blocked',
                            'misscan', 'stop'),
                    'tote': ('pick', 'replenish', 'count', 'charge', 'park', 'spill', 'blocked',
                             'misscan', 'stop'),
                    'quantity': ('putaway', 'transfer', 'count', 'charge', 'park', 'blocked',
                                 'misscan', 'stop')}
_NO_LOCATION = ('charge', 'stop')


def composite_missing(rng, split, cfg, policy, noise=True) -> Callable:
    """Make composites of which one part misses an argument: MISSING_ARGUMENT, the safe action."""
    from rag_planner.training.eval_sets import render_negative  # the negatives' renderer
    kinds = [(f, s) for f, slots in REQUIRED_SLOTS.items() for s in slots
             if negatives_of(f'missing_argument/{f}/{s}', split)]

    def make():
        fam, slot = rng.choice(kinds)
        t = rng.choice(negatives_of(f'missing_argument/{fam}/{slot}', split))
        others = [f for f in _SLOT_FREE.get(slot, _NO_LOCATION) if f != fam]
        other = generate_examples(1, rng.randrange(1 << 30), split, families=others,
                                  noise=False, cfg=cfg)[0]
        if other.family == 'charge' and slot not in _SLOT_FREE:
            other = generate_examples(1, rng.randrange(1 << 30), split, families=['stop'],
                                      noise=False, cfg=cfg)[0]  # a charger is a location
        texts = [render_negative(t, rng, False), other.task]
        if rng.random() < 0.5 and other.family != 'stop':
            texts.reverse()
        return make_case(_joined(texts, rng, split), HEALTHY, ErrorCode.MISSING_ARGUMENT,
                         safe_action(HEALTHY, cfg), f'{t.id}+{other.template_id}', cfg,
                         family='composite', slot=slot)
    return make


def composite_out_of_scope(rng, split, cfg, policy, noise=True) -> Callable:
    """Make a task joined with a text that is no task: NOT_UNDERSTOOD, never the task alone."""
    from rag_planner.training.eval_sets import render_negative  # the negatives' renderer
    # Chit-chat joined to a task ("Hello robot. Finally, go to CHARGER-5") asks for nothing
    # more: the task's plan leaves nothing out.  Questions, other domains, gibberish and
    # other languages ask for what no plan does, or cannot be read.
    kinds = sorted(k for k in NEGATIVE_TEMPLATES if k.startswith('out_of_scope/')
                   and k != 'out_of_scope/chitchat' and negatives_of(k, split))

    def make():
        t = rng.choice(negatives_of(rng.choice(kinds), split))
        task = generate_examples(1, rng.randrange(1 << 30), split, noise=False, cfg=cfg)[0]
        texts = [task.task, render_negative(t, rng, False)]
        if rng.random() < 0.5 and task.family not in ('stop', 'park'):
            texts.reverse()
        return make_case(_joined(texts, rng, split), HEALTHY, ErrorCode.NOT_UNDERSTOOD,
                         safe_action(HEALTHY, cfg), f'{task.template_id}+{t.id}', cfg,
                         family='composite')
    return make


MAKERS = {'composite': composite, 'composite_low_battery': composite_low_battery,
          'composite_missing': composite_missing,
          'composite_out_of_scope': composite_out_of_scope}

__all__ = ['Composite', 'CONNECTORS_2', 'CONNECTORS_3', 'MAKERS', 'combination_split',
           'composite_examples', 'plausible']
