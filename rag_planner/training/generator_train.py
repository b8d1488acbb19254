"""
The generator's training loop, its held-out check and the run of the whole pipeline.

Pipeline (``train_generator`` console script, :func:`run`):

1. wordings from :mod:`rag_planner.training.wording`, split by template
   (``split_templates``): training examples and a retrieval library from the
   training templates, held-out examples from the held-out templates;
2. MiniLM token states of every task from :class:`rag_planner.retrieval.embedder.Embedder`
   (the very encoder the server runs), cached as ``.npz`` under ``cache_dir``;
3. retrieval as the server does it (cosine top-k over the library's sentence
   vectors, the example itself excluded), with noise: a share of retrieved plans
   replaced by random library plans and a share of requests with no retrieval;
4. random robot states: location, carrying, a random default charger (the plan is
   the task's as asked: the answer policy, not the model, handles a low battery);
   refusal samples from the train split of the negative templates, whose target is
   ``<refuse> <not_understood | missing:SLOT>`` (:mod:`.generator_data`);
5. teacher-forced training under the same grammar masks the runtime uses;
6. ONNX export (:mod:`rag_planner.training.generator_export`), then the held-out check
   of torch greedy vs onnxruntime greedy.
"""

from __future__ import annotations

from dataclasses import asdict
import json
import math
from pathlib import Path
import random
import time
from typing import Any, Callable

import numpy as np

from rag_planner.domain.plan_grammar import Step
from rag_planner.generation.augment import Budget, build_inputs
from rag_planner.generation.vocab import GrammarState, Vocab
from rag_planner.retrieval.embedder import Embedder
from rag_planner.training.generator_config import TrainConfig
from rag_planner.training.generator_data import (
    assign_hints, derive_constants, encode_texts, featurize, load_wordings, make_samples,
    negative_samples, retrieve_sim)
from rag_planner.training.generator_data import composite_samples
from rag_planner.training.generator_export import export_model, onnx_agreement
from rag_planner.training.generator_model import ENC_KEYS, ModelConfig, PlanGenerator

__all__ = ['run', 'torch_greedy', 'train_model', 'TrainConfig']


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
    train_s += composite_samples(cfg.n_composite, 'train', 'train', rng)
    n_positive = len(train_s)
    train_s += negative_samples(cfg, rng)
    rng.shuffle(train_s)
    held_s = make_samples(held_ex, rng, cfg, vary_state=False)
    n_single = len(held_s)
    held_s += composite_samples(cfg.n_heldout_composite, 'dev', 'held', rng)
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
    composite_ok = correct[n_single:]
    correct = correct[:n_single]
    per_family: dict = {}
    for s, c in zip(held_s, correct):
        per_family.setdefault(s.family, []).append(c)
    metrics = {
        'heldout_exact_torch': float(np.mean(correct)) if correct else 0.0,
        'heldout_n': n_single,
        'heldout_composite_exact_torch': float(np.mean(composite_ok)) if composite_ok else 0.0,
        'heldout_composite_n': len(composite_ok),
        'heldout_per_family': {f: float(np.mean(v)) for f, v in sorted(per_family.items())},
        'train_samples': len(kept), 'train_seconds': round(train_s_elapsed, 1),
        'negative_samples': len(train_s) - n_positive,
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
