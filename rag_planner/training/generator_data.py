"""
Training data of the generator: samples, refusals, encodings, retrieval, hints, features.

Wordings from :mod:`rag_planner.training.wording` (train templates) become requests
with random robot states; refusal samples come from the train split of the negative
templates (:func:`rag_planner.training.eval_sets.negative_examples`); every task is
encoded by the real embedder (cached on disk), given the plans a retrieval over the
library would return (with noise) and the hint the runtime would compute, then
featurized under the same grammar masks the runtime decodes with.
"""

from __future__ import annotations


from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
import hashlib
from pathlib import Path
import random
import time
from typing import Any, Callable, Sequence

import numpy as np

from rag_planner.domain.plan_grammar import Step
from rag_planner.domain.robot_state import RobotState
from rag_planner.domain.safety import SafetyConfig
from rag_planner.domain.task_families import build_plan
from rag_planner.generation.augment import Budget, build_inputs
from rag_planner.generation.candidates import extra_candidates, extract_candidates
from rag_planner.generation.vocab import (
    GrammarState, plan_targets, REFUSAL_LABELS, REFUSAL_TOKENS, REFUSE, value_kind, Vocab)
from rag_planner.paths import default_library_path
from rag_planner.planners.generated import rule_hint
from rag_planner.retrieval.plan_library import read_library
from rag_planner.training import wording
from rag_planner.training.composites import composite_examples
from rag_planner.training.eval_sets import negative_examples
from rag_planner.training.generator_config import TrainConfig

LOW_BATTERY_KEEP = ('charge', 'stop')


@dataclass
class Sample:
    """One training/evaluation request with its gold plan."""

    task: str
    family: str
    template_id: str
    plan: tuple[Step, ...]
    battery_low: bool = False
    carrying: bool = False
    location: str = ''
    default_charger: str = 'CHARGER-1'
    retrieved: tuple = ()
    hint: tuple = ()


@dataclass(frozen=True)
class LibItem:
    """A retrievable library plan (what the generator sees of a LibraryEntry)."""

    plan: tuple
    family: str


class StoredEncoding:
    """Duck-typed ``Encoded`` (token states, ids, offsets) restored from the cache."""

    def __init__(self, states: np.ndarray, ids: Sequence[int], offsets: Sequence) -> None:
        """Keep the arrays."""
        self.token_states = states
        self.token_ids = tuple(ids)
        self.offsets = tuple(tuple(o) for o in offsets)
        self.vector = None


def encode_texts(embedder: Any, texts: Sequence[str], cache_dir: str,
                 log: Callable[[str], None] = print) -> tuple[list[StoredEncoding], np.ndarray]:
    """Return encodings and sentence vectors of ``texts`` (cached on disk)."""
    key = hashlib.sha256(('\n'.join(texts) + '|' + str(getattr(embedder, 'model_id', '')))
                         .encode()).hexdigest()[:16]
    path = Path(cache_dir) / f'enc-{key}.npz'
    if path.is_file():
        z = np.load(path)
        flat, lens, ids, offs, vecs = z['flat'], z['lens'], z['ids'], z['offs'], z['vecs']
    else:
        t0 = time.perf_counter()
        states, id_l, off_l, vec_l = [], [], [], []
        for t in texts:
            e = embedder.encode(t)
            states.append(np.asarray(e.token_states, np.float16))
            id_l.append(np.asarray(e.token_ids, np.int32))
            off_l.append(np.asarray(e.offsets, np.int32).reshape(-1, 2))
            vec_l.append(np.asarray(e.vector, np.float32))
        lens = np.array([len(s) for s in states], np.int64)
        flat = np.concatenate(states)
        ids = np.concatenate(id_l)
        offs = np.concatenate(off_l)
        vecs = np.stack(vec_l)
        Path(cache_dir).mkdir(parents=True, exist_ok=True)
        np.savez(path, flat=flat, lens=lens, ids=ids, offs=offs, vecs=vecs)
        log(f'encoded {len(texts)} texts in {time.perf_counter() - t0:.1f} s -> {path}')
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
    encs = [StoredEncoding(flat[s:s + n].astype(np.float32), ids[s:s + n], offs[s:s + n])
            for s, n in zip(starts, lens)]
    return encs, vecs


def retrieve_sim(query_vecs: np.ndarray, lib_vecs: np.ndarray, lib_plans: Sequence,
                 lib_tasks: Sequence[str], tasks: Sequence[str], k: int, rng: random.Random,
                 noise: float, none_share: float) -> list[tuple]:
    """Cosine top-k retrieval over the library, with noise (see the module docstring)."""
    sims = query_vecs @ lib_vecs.T
    out = []
    for i, row in enumerate(sims):
        order = np.argsort(-row)
        picks = [int(j) for j in order[:k + 1] if lib_tasks[int(j)] != tasks[i]][:k]
        if rng.random() < none_share:
            out.append(())
            continue
        plans = [lib_plans[j] for j in picks]
        for slot in range(len(plans)):
            if rng.random() < noise:
                plans[slot] = lib_plans[rng.randrange(len(lib_plans))]
        out.append(tuple(plans))
    return out


def _low_battery_plan(family: str, plan: tuple, charger: str) -> tuple:
    if family in LOW_BATTERY_KEEP:
        return plan
    return (Step('NAVIGATE', (charger,)), Step('CHARGE', (charger,)))


def make_samples(examples: Sequence[Any], rng: random.Random, cfg: TrainConfig,
                 vary_state: bool = True) -> list[Sample]:
    """Turn wording examples into requests with random robot states and configs."""
    out = []
    for ex in examples:
        charger = 'CHARGER-1'
        location = ''
        carrying = False
        low = False
        plan = tuple(ex.plan)
        if vary_state:
            charger = f'CHARGER-{rng.randint(1, 20)}'
            location = rng.choice(['', f'STAGING-{rng.randint(1, 20)}',
                                   f'CHARGER-{rng.randint(1, 20)}', 'A01-01'])
            carrying = rng.random() < 0.1
            low = rng.random() < cfg.low_battery
            if ex.family == 'charge':
                plan = tuple(build_plan(ex.family, ex.entities, None,
                                        SafetyConfig(default_charger=charger)))
            if low:
                plan = _low_battery_plan(ex.family, plan, charger)
        task = ex.task
        if vary_state and rng.random() < cfg.nonce_share:
            task = with_nonce(task, rng)
        s = Sample(task=task, family=ex.family, template_id=ex.template_id,
                   plan=plan, battery_low=low, carrying=carrying, location=location,
                   default_charger=charger)
        out.append(s)
    return out


_NONCE_FORMS = ('{t} Ticket {w}{n}.', '{t} (ref {w})', '[{w}{n}] {t}', '{t} {w}', '{w}: {t}',
                '{t} - order {w}{n}')


def with_nonce(task: str, rng: random.Random) -> str:
    """Return ``task`` with a made-up word (letters, maybe glued digits) around it."""
    word = ''.join(rng.choice('abcdefghijklmnopqrstuvwxyz') for _ in range(rng.randint(3, 8)))
    form = rng.choice(_NONCE_FORMS)
    return form.format(t=task, w=word, n=rng.randint(0, 99))


def assign_hints(samples: Sequence['Sample'], rng: random.Random, cfg: 'TrainConfig',
                 training: bool) -> None:
    """
    Set every sample's hint as the runtime computes it (after retrieval is set).

    For training, ``hint_policy='gold_if_wrong'`` replaces a wrong hint by the
    gold plan (the model learns to follow hints and to read the text when there
    is none) and ``hint_drop`` / ``hint_corrupt`` remove or corrupt hints.
    """
    for s in samples:
        s.hint = sample_hint(s) if cfg.rule_hint else ()
        if training and cfg.rule_hint and s.family:  # a refusal keeps its (wrong) hint
            if cfg.hint_policy == 'gold_if_wrong' and s.hint and s.hint != s.plan:
                s.hint = s.plan
            s.hint = _perturb_hint(s.hint, rng, cfg)


def sample_hint(s: 'Sample') -> tuple:
    """Return the rule planner's plan for a sample (as the runtime computes it)."""
    state = RobotState(location=s.location, carrying=s.carrying,
                       battery_pct=5.0 if s.battery_low else 100.0)
    return rule_hint(s.task, state, SafetyConfig(default_charger=s.default_charger),
                     s.retrieved)


def _perturb_hint(hint: tuple, rng: random.Random, cfg: 'TrainConfig') -> tuple:
    """Drop or corrupt a training hint so the model learns to check it against the text."""
    r = rng.random()
    if not hint or r < cfg.hint_drop:
        return ()
    if r < cfg.hint_drop + cfg.hint_corrupt:
        args = [a for st in hint for a in st.args if value_kind(a) not in (None, 'num')]
        uniq = list(dict.fromkeys(args))
        if len(uniq) >= 2:  # swap the roles of two ids
            a, b = rng.sample(uniq, 2)
            sw = {a: b, b: a}
            return tuple(Step(st.action, tuple(sw.get(x, x) for x in st.args)) for st in hint)
        return (Step('HALT'),)
    return hint


def negative_samples(cfg: TrainConfig, rng: random.Random) -> list[Sample]:
    """Return the refusal samples: out-of-scope and missing-argument texts of the train split."""
    out = []
    for task, label in negative_examples(cfg.n_negative, cfg.seed, 'train'):
        token = REFUSAL_TOKENS[REFUSAL_LABELS.index(label)]
        out.append(Sample(task=task, family='', template_id='negative',
                          plan=(Step(REFUSE, (token,)),), carrying=rng.random() < 0.1,
                          location=rng.choice(['', f'STAGING-{rng.randint(1, 20)}', 'A01-01']),
                          default_charger=f'CHARGER-{rng.randint(1, 20)}'))
    return out


def composite_samples(n: int, split: str, which: str, rng: random.Random,
                      max_steps: int = 16) -> list[Sample]:
    """Return ``n`` composite-task samples (plans of at most ``max_steps`` steps)."""
    out = []
    for c in composite_examples(4 * n, rng.randrange(1 << 30), split, which=which):
        if len(c.plan) > max_steps:
            continue  # TOO_LONG: the rule planner's view answers it, nothing is generated
        out.append(Sample(task=c.task, family='composite', template_id='+'.join(c.template_ids),
                          plan=c.plan, carrying=False,
                          location=rng.choice(['', f'STAGING-{rng.randint(1, 20)}', 'A01-01'])))
        if len(out) >= n:
            break
    return out


def derive_constants(samples: Sequence[Sample], min_count: int = 5) -> tuple[str, ...]:
    """Return plan arguments that are never in the task (e.g. the default WAIT 60)."""
    miss: Counter = Counter()
    for s in samples:
        vals = {c.value for c in extract_candidates(s.task)
                + extra_candidates(s.location, s.default_charger)}
        for st in s.plan:
            for a in st.args:
                if a not in vals and value_kind(a) == 'num':
                    miss[a] += 1
    consts = sorted((v for v, n in miss.items() if n >= min_count), key=int)
    return tuple(consts) or ('60',)


def featurize(samples: Sequence[Sample], encs: Sequence[Any], vocab: Vocab, budget: Budget,
              max_len: int) -> tuple[dict, list[int]]:
    """Build stacked encoder inputs, targets and grammar masks; return (data, kept idx)."""
    arrays: dict[str, list] = {}
    targets, masks, kept = [], [], []
    n_joint = vocab.size + budget.max_candidates
    for i, (s, e) in enumerate(zip(samples, encs)):
        inp = build_inputs(s.task, e, s.retrieved, vocab, budget, battery_low=s.battery_low,
                           carrying=s.carrying, location=s.location,
                           default_charger=s.default_charger, hint=s.hint)
        tgt = plan_targets(s.plan, inp.candidates, vocab)
        if tgt is None or len(tgt) > max_len:
            continue
        gs = GrammarState(inp.candidates, budget.max_candidates, vocab, max_new_tokens=max_len)
        m = np.zeros((max_len, n_joint), bool)
        ok = True
        for t, idx in enumerate(tgt):
            m[t] = gs.mask()
            if not m[t, idx]:
                ok = False
                break
            gs.advance(idx)
        if not ok:
            continue
        m[len(tgt):, vocab.index['<pad>']] = True
        tt = np.full(max_len, -100, np.int64)
        tt[:len(tgt)] = tgt
        for k, v in inp.arrays.items():
            arrays.setdefault(k, []).append(v)
        arrays.setdefault('hint', []).append(inp.hint_seq[:max_len])
        targets.append(tt)
        masks.append(m)
        kept.append(i)
    data = {k: np.stack(v) for k, v in arrays.items()}
    data['targets'] = np.stack(targets)
    data['masks'] = np.stack(masks)
    return data, kept


def load_wordings(cfg: TrainConfig, log: Callable[[str], None] = print):
    """
    Return (train examples, library (tasks, plans), held-out examples, split info).

    The retrieval library is the shipped plan library (``cfg.library`` or
    ``config/plan_library.jsonl``) when it exists and holds no held-out
    template; otherwise a library is generated from the training templates.
    """
    train_ids, held_ids = wording.split_templates(cfg.split_seed)
    train = wording.generate_examples(cfg.n_train, cfg.seed, templates=train_ids)
    held = wording.generate_examples(cfg.n_heldout, cfg.seed + 2, templates=held_ids)
    lib_tasks, lib_plans, lib_src = [], [], 'generated'
    path = Path(cfg.library) if cfg.library else None
    if path is None and cfg.use_shipped_library:
        path = default_library_path()
    if path is not None and path.is_file():
        library = read_library(path)
        entries = library.entries
        leaked = sorted({e.template for e in entries} & set(held_ids))
        if leaked:
            log(f'library {path} holds held-out templates {leaked[:5]}...; generating one')
        else:
            lib_tasks = [e.task for e in entries]
            lib_plans = [LibItem(tuple(e.plan), e.family) for e in entries]
            lib_src = f'{path} (version {library.version})'
    if not lib_tasks:
        lib = wording.generate_examples(cfg.n_library, cfg.seed + 1, templates=train_ids)
        lib_tasks = [e.task for e in lib]
        lib_plans = [LibItem(tuple(e.plan), e.family) for e in lib]
    info = {'train_templates': len(train_ids), 'heldout_templates': len(held_ids),
            'heldout_ids': list(held_ids), 'split_seed': cfg.split_seed,
            'library': lib_src, 'library_size': len(lib_tasks)}
    return train, (lib_tasks, lib_plans), held, info
