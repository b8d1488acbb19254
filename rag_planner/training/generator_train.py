"""
Training data, training loop and evaluation of the generator (imports torch lazily).

Pipeline (``train_generator`` console script, :func:`run`):

1. wordings from :mod:`rag_planner.training.wording`, split by template
   (``split_templates``): training examples and a retrieval library from the
   training templates, held-out examples from the held-out templates;
2. MiniLM token states of every task from :class:`rag_planner.retrieval.embedder.Embedder`
   (the very encoder the server runs), cached as ``.npz`` under ``cache_dir``;
3. retrieval as the server does it (cosine top-k over the library's sentence
   vectors, the example itself excluded), with noise: a share of retrieved plans
   replaced by random library plans and a share of requests with no retrieval;
4. random robot states: location, carrying, a random default charger, and a
   share of low-battery requests whose target is the rule-6 charge plan;
5. teacher-forced training under the same grammar masks the runtime uses;
6. ONNX export (:mod:`rag_planner.training.generator_export`), then the held-out check
   of torch greedy vs onnxruntime greedy.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
import hashlib
import json
import math
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
from rag_planner.generation.vocab import GrammarState, plan_targets, value_kind, Vocab
from rag_planner.paths import default_library_path
from rag_planner.planners.generated import rule_hint
from rag_planner.retrieval.embedder import Embedder
from rag_planner.retrieval.plan_library import read_library
from rag_planner.training import wording
from rag_planner.training.generator_export import export_model, onnx_agreement
from rag_planner.training.generator_model import ENC_KEYS, ModelConfig, PlanGenerator

LOW_BATTERY_KEEP = ('charge', 'stop')


@dataclass
class TrainConfig:
    """Everything that determines a trained model (saved in the manifest)."""

    n_train: int = 8000
    n_library: int = 3000
    n_heldout: int = 1000
    seed: int = 7
    split_seed: int = 0
    library: str = ''
    use_shipped_library: bool = True
    epochs: int = 8
    batch_size: int = 64
    lr: float = 2e-3
    d: int = 160
    n_enc_layers: int = 0
    ff: int = 320
    dropout: float = 0.2
    token_dropout: float = 0.25
    threads: int = 2
    max_len: int = 40
    top_k: int = 3
    retrieval_noise: float = 0.1
    no_retrieval: float = 0.05
    low_battery: float = 0.05
    rule_hint: bool = True
    hint_policy: str = 'gold_if_wrong'
    hint_drop: float = 0.3
    hint_corrupt: float = 0.0
    time_limit_s: float = 1080.0
    cache_dir: str = '/tmp/rag_planner_gen_cache'
    budget: dict = field(default_factory=lambda: asdict(Budget()))

    @classmethod
    def tiny(cls) -> 'TrainConfig':
        """Return a configuration that trains end to end in seconds (CI)."""
        return cls(n_train=200, n_library=80, n_heldout=40, epochs=2, d=32, ff=64,
                   use_shipped_library=False,
                   batch_size=32, threads=1, time_limit_s=60.0,
                   budget=asdict(Budget(max_query_tokens=48, max_candidates=8,
                                        max_retrieved_tokens=48, top_k=2)))


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
        s = Sample(task=ex.task, family=ex.family, template_id=ex.template_id,
                   plan=plan, battery_low=low, carrying=carrying, location=location,
                   default_charger=charger)
        out.append(s)
    return out


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
        if training and cfg.rule_hint:
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


def _trimmed_batch(tensors: dict, idx) -> dict:
    """Select a batch and cut query / retrieved arrays to the longest member (speed)."""
    b = {k: tensors[k][idx] for k in ENC_KEYS}
    tq = max(1, int(b['q_mask'].sum(1).max()))
    tr = max(1, int(b['r_mask'].sum(1).max()))
    for k in ('q_states', 'q_mask', 'q_tag'):
        b[k] = b[k][:, :tq]
    for k in ('c_span', 'c_left', 'c_right'):
        b[k] = b[k][:, :, :tq]
    for k in ('r_tok', 'r_rank', 'r_pos', 'r_ord', 'r_match', 'r_link', 'r_mask'):
        b[k] = b[k][:, :tr]
    return b


def train_model(data: dict, vocab: Vocab, cfg: TrainConfig, log: Callable[[str], None] = print):
    """Train a PlanGenerator on featurized data; return the model (eval mode)."""
    import torch
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    b = Budget(**cfg.budget)
    mcfg = ModelConfig(n_in_tokens=len(vocab.in_tokens), n_out_tokens=vocab.size, d=cfg.d,
                       n_enc_layers=cfg.n_enc_layers, ff=cfg.ff, n_query=b.max_query_tokens,
                       n_cand=b.max_candidates, n_retr=b.max_retrieved_tokens,
                       dropout=cfg.dropout)
    model = PlanGenerator(mcfg)
    log(f'model parameters: {sum(p.numel() for p in model.parameters()):,}')
    tensors = {k: torch.from_numpy(v) for k, v in data.items()}
    n = len(tensors['targets'])
    steps_total = max(1, cfg.epochs * math.ceil(n / cfg.batch_size))
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=steps_total,
                                                pct_start=0.1)
    t0 = time.perf_counter()
    g = torch.Generator().manual_seed(cfg.seed)
    step = 0
    for epoch in range(cfg.epochs):
        model.train()
        perm = torch.randperm(n, generator=g)
        tot, cnt = 0.0, 0
        for s in range(0, n, cfg.batch_size):
            idx = perm[s:s + cfg.batch_size]
            tg = tensors['targets'][idx]
            L = int((tg >= 0).sum(1).max())
            batch = _trimmed_batch(tensors, idx)
            if cfg.token_dropout > 0:  # hide some non-id words: robustness to new wordings
                drop = ((torch.rand(batch['q_mask'].shape, generator=g) < cfg.token_dropout)
                        & (batch['q_tag'] == 0))
                drop[:, 0] = False
                batch['q_mask'] = batch['q_mask'] * (~drop).float()
            logits = model(batch, tg[:, :L], tensors['masks'][idx, :L],
                           tensors['hint'][idx, :L])
            loss = torch.nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), tg[:, :L].reshape(-1), ignore_index=-100)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            if step < steps_total - 1:
                sched.step()
            step += 1
            tot += float(loss.detach()) * len(idx)
            cnt += len(idx)
        log(f'epoch {epoch + 1}/{cfg.epochs} loss {tot / max(cnt, 1):.4f} '
            f'({time.perf_counter() - t0:.0f} s)')
        if time.perf_counter() - t0 > cfg.time_limit_s:
            log(f'time limit {cfg.time_limit_s:.0f} s reached, stopping after epoch {epoch + 1}')
            break
    model.eval()
    return model


def torch_greedy(model: Any, inp: Any, vocab: Vocab, budget: Budget,
                 max_new_tokens: int = 64) -> tuple[Step, ...]:
    """Greedy grammar-constrained decoding with the torch model (for the agreement check)."""
    import torch
    with torch.no_grad():
        feed = [torch.from_numpy(inp.arrays[k][None]) for k in ENC_KEYS]
        mem_k, mem_v, bias, cand, cand_bias, h = model.encode(*feed)
        gs = GrammarState(inp.candidates, budget.max_candidates, vocab,
                          max_new_tokens=max_new_tokens)
        prev = torch.tensor([vocab.index['<bos>']])
        for t in range(max_new_tokens):
            mask = torch.from_numpy(gs.mask())
            hint = torch.tensor([int(inp.hint_seq[t]) if t < len(inp.hint_seq) else 0])
            logits, h = model.step(prev, hint, h, mem_k, mem_v, bias, cand, cand_bias)
            idx = int(torch.argmax(logits[0].masked_fill(~mask, -float('inf'))))
            if gs.advance(idx):
                break
            prev = torch.tensor([idx])
    return tuple(gs.done_steps)


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


def run(cfg: TrainConfig, out_dir: str, embedder: Any = None,
        log: Callable[[str], None] = print, command: str = '') -> dict:
    """Run the whole pipeline; write the model to ``out_dir``; return metrics."""
    t_start = time.perf_counter()
    if embedder is None:
        embedder = Embedder.load()
    rng = random.Random(cfg.seed)
    budget = Budget(**cfg.budget)
    train_ex, (lib_tasks, lib_plans), held_ex, split = load_wordings(cfg, log)
    log(f'library for retrieval: {split["library"]} ({len(lib_tasks)} entries)')
    train_s = make_samples(train_ex, rng, cfg)
    held_s = make_samples(held_ex, rng, cfg, vary_state=False)
    encs_tr, vec_tr = encode_texts(embedder, [s.task for s in train_s], cfg.cache_dir, log)
    _, vec_lib = encode_texts(embedder, lib_tasks, cfg.cache_dir, log)
    encs_ho, vec_ho = encode_texts(embedder, [s.task for s in held_s], cfg.cache_dir, log)
    retr_tr = retrieve_sim(vec_tr, vec_lib, lib_plans, lib_tasks, [s.task for s in train_s],
                           budget.top_k, rng, cfg.retrieval_noise, cfg.no_retrieval)
    retr_ho = retrieve_sim(vec_ho, vec_lib, lib_plans, lib_tasks, [s.task for s in held_s],
                           budget.top_k, rng, 0.0, 0.0)
    for s, r in zip(train_s, retr_tr):
        s.retrieved = r
    for s, r in zip(held_s, retr_ho):
        s.retrieved = r
    assign_hints(train_s, rng, cfg, training=True)
    assign_hints(held_s, rng, cfg, training=False)
    vocab = Vocab(derive_constants(train_s))
    data, kept = featurize(train_s, encs_tr, vocab, budget, cfg.max_len)
    log(f'training samples: {len(kept)} of {len(train_s)} '
        f'(rest not coverable by candidates/constants); constants {vocab.constants}')
    t_train = time.perf_counter()
    model = train_model(data, vocab, cfg, log)
    train_s_elapsed = time.perf_counter() - t_train
    # held-out exact-plan accuracy with torch greedy decoding
    torch_plans, inps = [], []
    for s, e in zip(held_s, encs_ho):
        inp = build_inputs(s.task, e, s.retrieved, vocab, budget,
                           default_charger=s.default_charger, location=s.location,
                           hint=s.hint)
        inps.append(inp)
        torch_plans.append(torch_greedy(model, inp, vocab, budget))
    correct = [p == s.plan for p, s in zip(torch_plans, held_s)]
    per_family: dict = {}
    for s, c in zip(held_s, correct):
        per_family.setdefault(s.family, []).append(c)
    metrics = {
        'heldout_exact_torch': float(np.mean(correct)) if correct else 0.0,
        'heldout_n': len(held_s),
        'heldout_per_family': {f: float(np.mean(v)) for f, v in sorted(per_family.items())},
        'train_samples': len(kept), 'train_seconds': round(train_s_elapsed, 1),
        'split': split,
    }
    info = export_model(model, vocab, budget, out_dir, cfg=asdict(cfg), rule_hint=cfg.rule_hint,
                        embedder_model_id=str(getattr(embedder, 'model_id', '')),
                        metrics=metrics, command=command)
    agree = onnx_agreement(out_dir, held_s, encs_ho, torch_plans)
    metrics.update(agree)
    metrics['params'] = info['params']
    metrics['total_seconds'] = round(time.perf_counter() - t_start, 1)
    (Path(out_dir) / 'train_metrics.json').write_text(json.dumps(metrics, indent=1))
    log(json.dumps(metrics, indent=1))
    return metrics
