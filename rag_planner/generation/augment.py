"""
Augmentation: build the generator input under a fixed context-token budget.

The input of one request is

* the MiniLM token states of the task (``Encoded.token_states``, computed by
  the embedder anyway), at most ``max_query_tokens`` of them, each tagged with
  the kind of the copy candidate it belongs to;
* the copy candidates (ids and numbers of the task, plus the robot's location
  and the configured default charger), at most ``max_candidates``;
* optionally a hint plan (the deterministic rule planner's plan, see
  ``rule_hint`` in the manifest) and the top-k retrieved plans as grammar
  tokens (ids replaced by kind placeholders linked to the task's candidate of
  the same value, if any), at most ``max_retrieved_tokens`` in total;
* two robot-state tokens (battery low / ok, carrying / empty);
* the hint plan as a token sequence in the decoder's own token space
  (``hint_seq``): decoder step t also reads hint token t (hint feeding).

All arrays have fixed shapes (padding + masks), so the encoder cost does not
depend on the request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import numpy as np

from rag_planner.domain.plan_grammar import Step
from rag_planner.generation.candidates import (
    CAND_KINDS, Candidate, extra_candidates, extract_candidates, SOURCES)
from rag_planner.generation.vocab import encode_retrieved, plan_targets, Vocab

HIDDEN = 384
CONTEXT = 3
HINT_LEN = 64  # decoder steps that can be aligned with a hint token


@dataclass(frozen=True)
class Budget:
    """Fixed sizes of the generator input."""

    # sized for composite tasks of three parts (measured on train composites: p99 71
    # tokens, at most 11 ids and numbers + the robot's location + the default charger)
    max_query_tokens: int = 80
    max_candidates: int = 16
    max_retrieved_tokens: int = 112
    top_k: int = 3

    @property
    def memory_len(self) -> int:
        """Length of the attention memory (query + retrieved + 2 state tokens)."""
        return self.max_query_tokens + self.max_retrieved_tokens + 2


@dataclass
class ModelInput:
    """Arrays fed to the encoder (batch dimension added by the caller) + the candidates."""

    arrays: dict[str, np.ndarray]
    candidates: list[Candidate] = field(default_factory=list)
    hint_seq: np.ndarray = field(default_factory=lambda: np.zeros(HINT_LEN, np.int64))
    n_query_tokens: int = 0
    n_retrieved_tokens: int = 0


def query_tokens(encoded: Any) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Return the (T, 384) states and char offsets of an encoding, without padding."""
    states = np.asarray(encoded.token_states, dtype=np.float32)
    if states.ndim == 3:
        states = states[0]
    ids = np.asarray(encoded.token_ids).reshape(-1)
    offsets = [tuple(int(x) for x in o) for o in encoded.offsets]
    n = min(len(states), len(ids), len(offsets))
    keep = [i for i in range(n) if ids[i] != 0]
    return states[keep], [offsets[i] for i in keep]


def plan_of(entry: Any) -> tuple[Step, ...]:
    """Return the steps of a retrieved item (a LibraryEntry or a sequence of steps)."""
    plan = getattr(entry, 'plan', entry)
    return tuple(plan)


def build_inputs(task: str, encoded: Any, retrieved: Sequence[Any], vocab: Vocab,
                 budget: Budget, battery_low: bool = False, carrying: bool = False,
                 location: str = '', default_charger: str = 'CHARGER-1',
                 candidates: Optional[list[Candidate]] = None,
                 hint: Optional[Sequence[Step]] = None) -> ModelInput:
    """Build the fixed-shape encoder input of one request."""
    states, offsets = query_tokens(encoded)
    T = budget.max_query_tokens
    C = budget.max_candidates
    if len(states) > T:  # keep the head and the final [SEP]
        states = np.concatenate([states[:T - 1], states[-1:]])
        offsets = offsets[:T - 1] + offsets[-1:]
    nq = len(states)
    if candidates is None:
        candidates = extract_candidates(task) + extra_candidates(location, default_charger)
    cands = list(candidates)[:C]

    q = np.zeros((T, HIDDEN), np.float32)
    q[:nq] = states
    q_mask = np.zeros(T, np.float32)
    q_mask[:nq] = 1.0
    q_tag = np.zeros(T, np.int64)
    span_w = np.zeros((C, T), np.float32)
    left_w = np.zeros((C, T), np.float32)
    right_w = np.zeros((C, T), np.float32)
    kind = np.zeros(C, np.int64)
    source = np.zeros(C, np.int64)
    order = np.zeros(C, np.int64)
    c_mask = np.zeros(C, np.float32)
    seen: dict[str, int] = {}
    for ci, c in enumerate(cands):
        kind[ci] = CAND_KINDS.index(c.kind) + 1
        source[ci] = SOURCES.index(c.source)
        seen[c.kind] = seen.get(c.kind, 0) + 1
        order[ci] = min(seen[c.kind], 7) if c.source == 'task' else 0
        c_mask[ci] = 1.0
        for s, e in c.spans:
            for ti, (a, b) in enumerate(offsets):
                if b > a and a < e and s < b:
                    span_w[ci, ti] = 1.0
                    q_tag[ti] = kind[ci]
        hit = np.nonzero(span_w[ci])[0]
        if len(hit):
            first, last = int(hit[0]), int(hit[-1])
            # context words: up to CONTEXT tokens before / after the first mention
            lo = max(1, first - CONTEXT)
            left_w[ci, lo:first] = 1.0
            end = first
            while end + 1 <= last and span_w[ci, end + 1] > 0:
                end += 1
            right_w[ci, end + 1:min(nq - 1, end + 1 + CONTEXT)] = 1.0
        for w in (span_w, left_w, right_w):
            tot = w[ci].sum()
            if tot > 0:
                w[ci] /= tot

    R = budget.max_retrieved_tokens
    plans = [plan_of(r) for r in list(retrieved)[:budget.top_k]]
    enc = encode_retrieved(plans, cands, vocab, R, hint=hint)
    nr = len(enc['tok'])
    arrays = {'q_states': q, 'q_mask': q_mask, 'q_tag': q_tag, 'c_span': span_w,
              'c_left': left_w, 'c_right': right_w,
              'c_kind': kind, 'c_source': source, 'c_order': order, 'c_mask': c_mask}
    for key in ('tok', 'rank', 'pos', 'ord', 'match', 'link'):
        a = np.zeros(R, np.int64)
        a[:nr] = enc[key]
        arrays['r_' + key] = a
    r_mask = np.zeros(R, np.float32)
    r_mask[:nr] = 1.0
    arrays['r_mask'] = r_mask
    arrays['s_tok'] = np.array([vocab.index['<bat_low>' if battery_low else '<bat_ok>'],
                                vocab.index['<carrying>' if carrying else '<empty>']], np.int64)
    hint_seq = np.zeros(HINT_LEN, np.int64)  # 0 = <pad> = no hint at this step
    tokens = plan_targets(hint, cands, vocab) if hint else None
    if tokens:
        tokens = tokens[:HINT_LEN]
        hint_seq[:len(tokens)] = tokens
    return ModelInput(arrays=arrays, candidates=cands, hint_seq=hint_seq, n_query_tokens=nq,
                      n_retrieved_tokens=nr)


ENCODER_INPUTS: tuple[str, ...] = (
    'q_states', 'q_mask', 'q_tag', 'c_span', 'c_left', 'c_right', 'c_kind', 'c_source',
    'c_order', 'c_mask',
    'r_tok', 'r_rank', 'r_pos', 'r_ord', 'r_match', 'r_link', 'r_mask', 's_tok',
)
