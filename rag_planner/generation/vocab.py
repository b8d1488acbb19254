"""
Output vocabulary, plan tokenisation and the decoding grammar of the generator.

A plan is decoded as a flat token sequence ``ACTION arg* ACTION arg* ... <eos>``;
step boundaries are implied by the fixed arity of every action (``REPORT`` has
an optional subject, which the grammar allows to be followed directly by the
next action or ``<eos>``).  The token space of one request is the fixed
vocabulary (specials, actions, report codes, a few constants such as ``60``)
followed by the request's copy candidates (pointer targets, see
:mod:`rag_planner.generation.candidates`).

:class:`GrammarState` masks, at every step, the tokens the plan grammar of
:mod:`rag_planner.domain.plan_grammar` allows, taking into account which candidates
exist, ``max_steps`` and the remaining ``max_new_tokens`` budget, so that
decoding always ends in a plan that parses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import json
from typing import Optional, Sequence

import numpy as np

from rag_planner.domain.plan_grammar import (
    ACTIONS, id_kind, ID_KINDS, LOCATION_KINDS, MAX_WAIT_S, REPORT_CODES, Step)
from rag_planner.domain.task_families import SLOTS
from rag_planner.generation.candidates import CAND_KINDS, Candidate

PAD, BOS, EOS = '<pad>', '<bos>', '<eos>'
SPECIALS: tuple[str, ...] = (PAD, BOS, EOS)
# The generator's refusal: a one-step "plan" REFUSE <label>, decoded only as the whole
# output. The label is <not_understood> or <missing:SLOT> (task_families.SLOTS).
REFUSE = '<refuse>'
NOT_UNDERSTOOD = 'not_understood'
REFUSAL_LABELS: tuple[str, ...] = (NOT_UNDERSTOOD,) + tuple(SLOTS)
REFUSAL_TOKENS: tuple[str, ...] = ('<not_understood>',) + tuple(f'<missing:{s}>' for s in SLOTS)

# Argument slots of every action; a trailing '?' marks an optional slot.
# 'here' slots take a location only if it is where the robot is at that point of
# the plan (the last NAVIGATE): PLACE / UNLOAD / CHARGE / SCAN of a bin happen
# where the robot stands.  Every canonical plan satisfies this.
ARG_SLOTS: dict[str, tuple[str, ...]] = {
    'NAVIGATE': ('loc',), 'SCAN': ('scan_here',), 'PICK': ('sku', 'qty'),
    'PLACE': ('loc_here',), 'LOAD': ('tote',), 'UNLOAD': ('loc_here',),
    'CHARGE': ('charger_here',), 'WAIT': ('seconds',), 'HALT': (),
    'REPORT': ('code', 'subject?'), REFUSE: ('label',),
}
SLOT_KINDS: dict[str, frozenset] = {
    'loc': frozenset(LOCATION_KINDS), 'loc_here': frozenset(LOCATION_KINDS),
    'scan_here': frozenset({'bin', 'tote', 'sku'}), 'sku': frozenset({'sku'}),
    'tote': frozenset({'tote'}), 'charger_here': frozenset({'charger'}),
    'qty': frozenset({'num'}), 'seconds': frozenset({'num'}), 'subject': frozenset(ID_KINDS),
}
HERE_SLOTS = frozenset({'loc_here', 'scan_here', 'charger_here'})
# Input-only tokens used to describe retrieved plans and the robot state.
PLACEHOLDERS: tuple[str, ...] = tuple(f'<{k}>' for k in CAND_KINDS)
STATE_TOKENS: tuple[str, ...] = ('<sep>', '<bat_ok>', '<bat_low>', '<empty>', '<carrying>')


def _num_ok(slot: str, value: str) -> bool:
    if not value.isdigit() or (len(value) > 1 and value[0] == '0'):
        return False
    n = int(value)
    if slot == 'qty':
        return 0 <= n <= 999
    if slot == 'seconds':
        return 1 <= n <= MAX_WAIT_S
    return False


def value_kind(value: str) -> Optional[str]:
    """Return the candidate kind of an argument value ('num' for integers), or None."""
    if value.isdigit():
        return 'num'
    return id_kind(value)


def value_fits(slot: str, kind: str, value: str) -> bool:
    """Return True when a value of ``kind`` may fill ``slot``."""
    base = slot.rstrip('?')
    if kind not in SLOT_KINDS.get(base, ()):
        return False
    if kind == 'num':
        return _num_ok(base, value)
    return True


@dataclass
class Vocab:
    """The fixed output vocabulary plus the input-only tokens."""

    constants: tuple[str, ...] = ('60',)
    out_tokens: tuple[str, ...] = field(init=False)
    in_tokens: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        """Build the token tables."""
        self.constants = tuple(self.constants)
        self.out_tokens = SPECIALS + ACTIONS + REPORT_CODES + (REFUSE,) + REFUSAL_TOKENS + \
            self.constants
        self.in_tokens = self.out_tokens + PLACEHOLDERS + STATE_TOKENS
        self.index = {t: i for i, t in enumerate(self.in_tokens)}
        self.const_kinds = {c: value_kind(c) for c in self.constants}

    @property
    def size(self) -> int:
        """Return the number of output tokens (the pointer targets follow them)."""
        return len(self.out_tokens)

    def to_json(self) -> str:
        """Serialise to JSON."""
        return json.dumps({'constants': list(self.constants), 'out_tokens': list(self.out_tokens),
                           'in_tokens': list(self.in_tokens)}, indent=1)

    @classmethod
    def from_json(cls, text: str) -> 'Vocab':
        """Load from JSON and check that the token tables match this code."""
        d = json.loads(text)
        v = cls(tuple(d['constants']))
        if list(v.out_tokens) != d['out_tokens'] or list(v.in_tokens) != d['in_tokens']:
            raise ValueError('vocab.json does not match the generator code (token tables differ)')
        return v


def plan_targets(steps: Sequence[Step], cands: Sequence[Candidate], vocab: Vocab,
                 ) -> Optional[list[int]]:
    """
    Return the joint token indices of ``steps`` (ending in ``<eos>``), or None.

    None means some argument is neither a candidate nor a vocabulary constant.
    """
    by_value = {c.value: i for i, c in enumerate(cands)}
    out = []
    for st in steps:
        out.append(vocab.index[st.action])
        for slot, arg in zip(ARG_SLOTS[st.action], st.args):
            if slot in ('code', 'label'):
                out.append(vocab.index[arg])
            elif arg in by_value:
                out.append(vocab.size + by_value[arg])
            elif arg in vocab.const_kinds:
                out.append(vocab.index[arg])
            else:
                return None
    out.append(vocab.index[EOS])
    return out


class GrammarState:
    """Allowed next tokens of a partial plan; call :meth:`mask` then :meth:`advance`."""

    def __init__(self, cands: Sequence[Candidate], n_cand_slots: int, vocab: Vocab,
                 max_steps: int = 16, max_new_tokens: int = 64) -> None:
        """Precompute the per-slot masks of this request."""
        self.vocab = vocab
        self.V = vocab.size
        self.n = self.V + n_cand_slots
        self.max_steps = max_steps
        self.max_new = max_new_tokens
        self.cands = list(cands)[:n_cand_slots]
        self.slot_mask: dict[str, np.ndarray] = {}
        for slot in SLOT_KINDS:
            m = np.zeros(self.n, dtype=bool)
            for c, kind in vocab.const_kinds.items():
                if kind is not None and value_fits(slot, kind, c):
                    m[vocab.index[c]] = True
            for i, c in enumerate(self.cands):
                if value_fits(slot, c.kind, c.value):
                    m[self.V + i] = True
            self.slot_mask[slot] = m
        code = np.zeros(self.n, dtype=bool)
        for c in REPORT_CODES:
            code[vocab.index[c]] = True
        self.slot_mask['code'] = code
        label = np.zeros(self.n, dtype=bool)
        for c in REFUSAL_TOKENS:
            label[vocab.index[c]] = True
        self.slot_mask['label'] = label
        self.required = {a: [s for s in slots if not s.endswith('?')]
                         for a, slots in ARG_SLOTS.items()}
        self.refusals = REFUSE in vocab.index
        self.fillable = {a: all(self.slot_mask[s].any() for s in req)
                         for a, req in self.required.items()}
        self.is_loc = np.zeros(self.n, dtype=bool)
        self.value_idx: dict[str, list[int]] = {}
        for c, kind in vocab.const_kinds.items():
            self.is_loc[vocab.index[c]] = kind in LOCATION_KINDS
            self.value_idx.setdefault(c, []).append(vocab.index[c])
        for i, c in enumerate(self.cands):
            self.is_loc[self.V + i] = c.kind in LOCATION_KINDS
            self.value_idx.setdefault(c.value, []).append(self.V + i)
        self.here: Optional[str] = None
        self.emitted = 0
        self.steps: list[Step] = []
        self.action: Optional[str] = None
        self.args: list[str] = []

    def _boundary_mask(self) -> np.ndarray:
        # a pending step (only possible in an optional slot) counts as complete
        n_steps = len(self.steps) + (self.action is not None)
        m = np.zeros(self.n, dtype=bool)
        left = self.max_new - self.emitted
        if self.steps and self.steps[0].action == REFUSE:  # a refusal is the whole output
            m[self.vocab.index[EOS]] = True
            return m
        if n_steps == 0 and self.refusals and left >= 3:
            m[self.vocab.index[REFUSE]] = True
        if n_steps < self.max_steps:
            for a in ACTIONS:
                req = self.required[a]
                if not self.fillable[a] or 1 + len(req) + 1 > left:
                    continue
                if req and req[0] in HERE_SLOTS and not self._slot(req[0]).any():
                    continue
                m[self.vocab.index[a]] = True
        if n_steps and left >= 1:
            m[self.vocab.index[EOS]] = True
        return m

    def _slot(self, slot: str) -> np.ndarray:
        """Return the mask of a slot, restricted to the current location for 'here' slots."""
        base = self.slot_mask[slot]
        if slot not in HERE_SLOTS or self.here is None:
            return base.copy()
        m = base & ~self.is_loc
        for i in self.value_idx.get(self.here, ()):
            m[i] = base[i]
        return m

    def _pending_slot(self) -> Optional[str]:
        if self.action is None:
            return None
        slots = ARG_SLOTS[self.action]
        return slots[len(self.args)] if len(self.args) < len(slots) else None

    def mask(self) -> np.ndarray:
        """Return the boolean mask of allowed next tokens (joint index space)."""
        slot = self._pending_slot()
        if slot is None:
            return self._boundary_mask()
        if slot.endswith('?'):
            m = self._boundary_mask()
            if self.max_new - self.emitted >= 2:
                m = m | self._slot(slot[:-1])
            return m
        return self._slot(slot)

    def _close_step(self) -> None:
        if self.action is not None:
            if self.action == 'NAVIGATE':
                self.here = self.args[0]
            self.steps.append(Step(self.action, tuple(self.args)))
            self.action, self.args = None, []

    def token_value(self, idx: int) -> str:
        """Return the plan text of joint token ``idx``."""
        if idx >= self.V:
            return self.cands[idx - self.V].value
        return self.vocab.out_tokens[idx]

    def advance(self, idx: int) -> bool:
        """Consume joint token ``idx`` (must be allowed); return True when the plan is done."""
        self.emitted += 1
        slot = self._pending_slot()
        value = self.token_value(idx)
        if slot is not None and not (slot.endswith('?') and value in ACTIONS + (EOS,)):
            self.args.append(value)
            if self._pending_slot() is None:
                self._close_step()
            return False
        self._close_step()
        if value == EOS:
            return True
        self.action = value
        if not ARG_SLOTS[value]:
            self._close_step()
        return False

    @property
    def done_steps(self) -> list[Step]:
        """Return the completed steps so far."""
        return list(self.steps)


HINT_RANK = 7


def encode_retrieved(plans: Sequence[Sequence[Step]], cands: Sequence[Candidate], vocab: Vocab,
                     budget: int, hint: Optional[Sequence[Step]] = None) -> dict[str, list[int]]:
    """
    Describe the hint plan and the retrieved plans as input tokens under a token budget.

    Every plan starts with ``<sep>``; actions and report codes are themselves,
    ids and numbers become kind placeholders with the ordinal of the distinct
    value inside that plan, a flag telling whether the value also occurs among
    the task's candidates and a link (candidate index + 1, or 0) to that
    candidate.  The hint plan (rank ``HINT_RANK``) comes first, then the
    retrieved plans in rank order; the last plan that does not fit is cut.
    """
    by_value = {c.value: i for i, c in enumerate(cands)}
    out: dict[str, list[int]] = {'tok': [], 'rank': [], 'pos': [], 'ord': [], 'match': [],
                                 'link': []}
    ranked = [(HINT_RANK, hint)] if hint else []
    ranked += [(min(r, HINT_RANK - 1), p) for r, p in enumerate(plans)]
    for rank, plan in ranked:
        seq = [(vocab.index['<sep>'], 0, 0, 0)]
        ordinals: dict[str, int] = {}
        for st in plan:
            seq.append((vocab.index[st.action], 0, 0, 0))
            for arg in st.args:
                if arg in REPORT_CODES:
                    seq.append((vocab.index[arg], 0, 0, 0))
                    continue
                kind = value_kind(arg) or 'num'
                o = ordinals.setdefault(arg, len(ordinals) + 1)
                c = by_value.get(arg)
                seq.append((vocab.index[f'<{kind}>'], min(o, 7), 1 + (c is not None),
                            0 if c is None else c + 1))
        for pos, (tok, o, match, link) in enumerate(seq):
            if len(out['tok']) >= budget:
                return out
            out['tok'].append(tok)
            out['rank'].append(rank)
            out['pos'].append(min(pos, 63))
            out['ord'].append(o)
            out['match'].append(match)
            out['link'].append(link)
    return out
