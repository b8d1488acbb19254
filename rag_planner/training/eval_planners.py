"""
Compare the planners on held-out wordings (console script ``eval_planners``).

Exact-plan accuracy per family, side by side, for

* ``rule``: the deterministic rule planner (:func:`rag_planner.planners.rule_based.rule_plan`);
* ``retrieval``: the retrieval baseline (:func:`rag_planner.retrieval.retriever.retrieval_plan`:
  family by vote of the top-k, entities from the task text);
* ``generator``: the ONNX generator (retrieve -> augment -> generate);
* ``gen_no_hint``: the same generator without the rule planner's hint (ablation);

on examples of the wording templates held out from training
(``wording.split_templates(split_seed)``), plus a *hard* subset: the
held-out templates flagged ``hard`` and perturbed copies of held-out tasks
(random casing, spelled-out numbers, filler words the wording generator
never uses, clause order swapped).  Retrieval is an exact cosine top-k over
the plan library restricted to training templates (held-out templates are
removed so retrieval cannot see the test wording).  Generation latency is
measured on one onnxruntime thread: per request (p50/p99) and for a forced
16-step plan (49 decoder steps).

``--card models/generator/MODEL_CARD.md`` rewrites the block between the
``<!-- eval:begin -->`` / ``<!-- eval:end -->`` markers with the results.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
import json
from pathlib import Path
import random
import re
import sys
import time
from typing import Any, Callable, Optional, Sequence

import numpy as np

from rag_planner.domain.robot_state import RobotState
from rag_planner.domain.safety import SafetyConfig, validate_plan
from rag_planner.generation.runtime import GenerationError, Generator
from rag_planner.paths import default_library_path, default_model_dir
from rag_planner.planners.generated import rule_hint
from rag_planner.planners.retrieval_baseline import retrieval_plan
from rag_planner.planners.rule_based import rule_plan
from rag_planner.retrieval.embedder import Embedder
from rag_planner.retrieval.plan_library import read_library
from rag_planner.retrieval.retriever import Retrieval
from rag_planner.serving.latency_stats import percentiles
from rag_planner.training import wording

FILLERS_PRE = ('umm, ', 'so basically ', 'when possible: ', 'heads up - ', 'task for you: ')
FILLERS_SUF = (' as soon as you are free', ', much appreciated', ' (no rush)', ' ok?',
               ' - cheers')
_WORDS = {1: 'one', 2: 'two', 3: 'three', 4: 'four', 5: 'five', 6: 'six', 7: 'seven',
          8: 'eight', 9: 'nine', 10: 'ten', 11: 'eleven', 12: 'twelve', 13: 'thirteen',
          14: 'fourteen', 15: 'fifteen', 16: 'sixteen', 17: 'seventeen', 18: 'eighteen',
          19: 'nineteen', 20: 'twenty'}


def perturb(task: str, rng: random.Random) -> tuple[str, str]:
    """Return (perturbed task, kind) with one meaning-preserving perturbation."""
    kind = rng.choice(('casing', 'numbers', 'filler', 'order'))
    if kind == 'casing':
        out = ''.join(c.upper() if rng.random() < 0.5 else c.lower() for c in task)
    elif kind == 'numbers':
        def spell(m: re.Match) -> str:
            n = int(m.group(0))
            return _WORDS.get(n, m.group(0))
        out = re.sub(r'(?<![\w-])(?:[1-9]|1[0-9]|20)(?![\w-])', spell, task)
        out = re.sub(r'\b(PACK|DOCK|STAGING|EXCEPTION|CHARGER)-(\d+)\b',
                     lambda m: f'{m.group(1).lower()} {_WORDS.get(int(m.group(2)), m.group(2))}',
                     out)
    elif kind == 'filler':
        out = rng.choice(FILLERS_PRE) + task.rstrip('.!?') + rng.choice(FILLERS_SUF)
    else:
        parts = re.split(r'(?<=[,;])\s+', task.rstrip('.!?'), maxsplit=1)
        if len(parts) == 2 and len(parts[1]) > 3:
            out = parts[1].rstrip(',;') + ', ' + parts[0].rstrip(',;')
        else:
            out = task.rstrip('.!?') + ', thanks'
            kind = 'filler'
    return out, kind


PLANNERS = ('rule', 'retrieval', 'generator', 'gen_no_hint')
HEADER = ('rule planner', 'retrieval baseline', 'generator', 'generator without rule hint')


class KnnRetrieval:
    """Exact cosine top-k over library entries, answering like the Retriever."""

    def __init__(self, embedder: Any, entries: Sequence[Any]) -> None:
        """Embed every entry task once."""
        self.embedder = embedder
        self.entries = list(entries)
        self.vecs = np.stack([embedder.embed(e.task) for e in self.entries]).astype(np.float32)

    def retrieve(self, vector: np.ndarray, k: int):
        """Return a retriever.Retrieval for a query vector."""
        sims = self.vecs @ vector
        top = np.argsort(-sims)[:k]
        return Retrieval(ids=tuple(self.entries[i].id for i in top),
                         scores=tuple(float(sims[i]) for i in top),
                         entries=tuple(self.entries[i] for i in top))


def evaluate(model_dir: str, n: int, seed: int, split_seed: int, k: int, library: str,
             log: Callable[[str], None] = print, n_perturbed: Optional[int] = None) -> dict:
    """Run the comparison; return the results dict."""
    cfg = SafetyConfig()
    state = RobotState()
    _, held_ids = wording.split_templates(split_seed)
    held = wording.generate_examples(n, seed, templates=held_ids)
    rng = random.Random(seed)
    n_pert = n // 2 if n_perturbed is None else n_perturbed
    hard = [(e.task, e, 'hard_template') for e in held
            if wording.TEMPLATE_BY_ID[e.template_id].hard]
    for e in rng.sample(held, min(n_pert, len(held))):
        t, kind = perturb(e.task, rng)
        hard.append((t, e, kind))
    lib = read_library(library)
    entries = [e for e in lib.entries if e.template not in set(held_ids)]
    log(f'library {library}: {len(lib.entries)} entries, {len(entries)} after removing '
        f'held-out templates; {len(held)} held-out examples, {len(hard)} hard')
    embedder = Embedder.load(threads=1)
    knn = KnnRetrieval(embedder, entries)
    gen = Generator.load(model_dir, threads=1)

    def run_all(task: str) -> dict:
        out = {}
        try:
            out['rule'] = tuple(rule_plan(task, state, cfg).steps)
        except ValueError:
            out['rule'] = None
        enc = embedder.encode(task)
        r = knn.retrieve(enc.vector, k)
        try:
            out['retrieval'] = tuple(retrieval_plan(task, state, cfg, r))
        except ValueError:
            out['retrieval'] = None
        try:
            hint = rule_hint(task, state, cfg, r.entries) if gen.uses_hint else None
            g = gen.generate(task, state, enc, r.entries, max_new_tokens=64, cfg=cfg, hint=hint)
            out['generator'] = g.steps
            out['_ms'] = g.generate_ms
            out['_conf'] = g.confidence
        except GenerationError:
            out['generator'] = None
        try:  # ablation: the same model without the rule planner's hint
            out['gen_no_hint'] = gen.generate(task, state, enc, r.entries, max_new_tokens=64,
                                              cfg=cfg, hint=()).steps
        except GenerationError:
            out['gen_no_hint'] = None
        return out

    planners = PLANNERS
    per = {p: defaultdict(list) for p in planners}
    ms, conf_ok, conf_bad, valid = [], [], [], []
    t0 = time.perf_counter()
    for e in held:
        res = run_all(e.task)
        for p in planners:
            per[p][e.family].append(res[p] == tuple(e.plan))
        if res['generator'] is not None:
            valid.append(validate_plan(res['generator'], state, cfg).ok)
        if '_ms' in res:
            ms.append(res['_ms'])
            (conf_ok if res['generator'] == tuple(e.plan) else conf_bad).append(res['_conf'])
    hard_res = {p: defaultdict(list) for p in planners}
    hard_fail = []
    for task, e, kind in hard:
        res = run_all(task)
        for p in planners:
            ok = res[p] == tuple(e.plan)
            hard_res[p][kind].append(ok)
            hard_res[p]['all'].append(ok)
        if res['generator'] != tuple(e.plan) and len(hard_fail) < 15:
            hard_fail.append({'task': task, 'kind': kind,
                              'got': ' ; '.join(map(str, res['generator'] or ()))})
    log(f'evaluated in {time.perf_counter() - t0:.0f} s')
    bench = [gen.bench_tokens(embedder.encode(e.task), 49) for e in held[:200]]
    fams = sorted({e.family for e in held})
    gen_ms, bench_ms = percentiles(ms), percentiles(bench)

    def acc(v):
        return float(np.mean(v)) if v else 0.0
    return {
        'model_id': gen.model_id, 'n_heldout': len(held), 'n_hard': len(hard),
        'split_seed': split_seed, 'seed': seed, 'k': k, 'heldout_templates': list(held_ids),
        'library_entries': len(entries),
        'per_family': {f: {p: acc(per[p][f]) for p in planners} for f in fams},
        'overall': {p: acc([x for f in fams for x in per[p][f]]) for p in planners},
        'hard': {kind: {p: acc(hard_res[p][kind]) for p in planners}
                 for kind in sorted(hard_res['rule'])},
        'hard_n': {kind: len(v) for kind, v in hard_res['rule'].items()},
        'generate_ms': {'p50': gen_ms['p50_ms'], 'p99': gen_ms['p99_ms'],
                        'max': gen_ms['max_ms']},
        'generate_16step_ms': {'p50': bench_ms['p50_ms'], 'p99': bench_ms['p99_ms']},
        'confidence_mean': {'correct': acc(conf_ok), 'wrong': acc(conf_bad)},
        'generator_valid': acc(valid), 'generator_answered': len(valid) / max(len(held), 1),
        'hard_failures_generator': hard_fail,
    }


def render_markdown(res: dict) -> str:
    """Return the results as markdown tables."""
    planners = PLANNERS
    lines = [f'Held-out wordings: {res["n_heldout"]} examples of {len(res["heldout_templates"])} '
             f'templates never seen in training (split seed {res["split_seed"]}, example '
             f'seed {res["seed"]}); retrieval top-{res["k"]} over {res["library_entries"]} '
             'library entries of training templates only.', '',
             '| family | ' + ' | '.join(HEADER) + ' |', '|---' * (len(HEADER) + 1) + '|']
    for f, row in res['per_family'].items():
        lines.append(f'| {f} | ' + ' | '.join(f'{100 * row[p]:.1f} %' for p in planners) + ' |')
    lines.append('| **all** | ' + ' | '.join(f'**{100 * res["overall"][p]:.1f} %**'
                                             for p in planners) + ' |')
    lines += ['', f'Hard wordings ({res["n_hard"]}): held-out templates flagged hard plus '
              'perturbed held-out tasks.', '',
              '| subset | n | ' + ' | '.join(HEADER) + ' |', '|---' * (len(HEADER) + 2) + '|']
    for kind, row in res['hard'].items():
        lines.append(f'| {kind} | {res["hard_n"][kind]} | '
                     + ' | '.join(f'{100 * row[p]:.1f} %' for p in planners) + ' |')
    g, b = res['generate_ms'], res['generate_16step_ms']
    lines += ['', f'Generation latency (one onnxruntime thread, encoder + decoding, '
              f'rule hint included): p50 {g["p50"]:.2f} ms, p99 {g["p99"]:.2f} ms, '
              f'max {g["max"]:.2f} ms per request; forced 16-step plan (49 decoder steps): '
              f'p50 {b["p50"]:.2f} ms, p99 {b["p99"]:.2f} ms.',
              f'Generator answered {100 * res["generator_answered"]:.1f} % of held-out requests '
              f'(the rest: GenerationError); {100 * res["generator_valid"]:.1f} % of its plans '
              'pass `safety.validate_plan` (full battery, nothing blocked).',
              f'Mean confidence: correct plans {res["confidence_mean"]["correct"]:.3f}, '
              f'wrong plans {res["confidence_mean"]["wrong"]:.3f}.']
    return '\n'.join(lines) + '\n'


def update_card(card: Path, block: str, name: str = 'eval') -> None:
    """Replace a marked block of a model card (append it when the markers are missing)."""
    begin, end = f'<!-- {name}:begin -->', f'<!-- {name}:end -->'
    text = card.read_text() if card.is_file() else ''
    new = f'{begin}\n{block}{end}'
    if begin in text and end in text:
        text = text[:text.index(begin)] + new + text[text.index(end) + len(end):]
    else:
        text = text.rstrip() + '\n\n' + new + '\n'
    card.write_text(text)


def model_blocks(model_dir: Path) -> dict:
    """Return the 'sizes' and 'train' card blocks from a model's manifest."""
    man = json.loads((model_dir / 'manifest.json').read_text())
    m = man.get('metrics', {})
    tm_path = model_dir / 'train_metrics.json'
    tm = json.loads(tm_path.read_text()) if tm_path.is_file() else m
    mc, tc = man['model_config'], man['train_config']
    sizes = ['| file | bytes | sha256 |', '|---|---|---|']
    for name, digest in sorted(man['files'].items()):
        sizes.append(f'| `{name}` | {(model_dir / name).stat().st_size:,} | `{digest}` |')
    sizes_txt = (f'Model id `{man["model_id"]}`, {man["params"]:,} parameters '
                 f'(d={mc["d"]}, {mc["n_enc_layers"]} encoder self-attention layers, '
                 f'2-layer GRU decoder), trained against embedder '
                 f'`{man["embedder_model_id"]}`; budgets {json.dumps(man["budget"])}.\n\n'
                 + '\n'.join(sizes) + '\n')
    split = tm.get('split', {})
    train_txt = (
        f'Command: `OMP_NUM_THREADS=2 {man.get("command") or "train_generator"}` '
        f'(CPU, torch {tc.get("threads")} threads).\n\n'
        f'- training examples: {tm.get("train_samples")} from {split.get("train_templates")} '
        f'templates (seed {tc.get("seed")}); held-out: {tm.get("heldout_n")} examples of '
        f'{split.get("heldout_templates")} templates (split seed {split.get("split_seed")})\n'
        f'- retrieval library: {split.get("library")}, {split.get("library_size")} entries\n'
        f'- {tc.get("epochs")} epochs, batch {tc.get("batch_size")}, AdamW lr {tc.get("lr")} '
        f'one-cycle; training time {tm.get("train_seconds")} s, whole run '
        f'{tm.get("total_seconds")} s\n'
        f'- held-out exact-plan accuracy (training-time check, retrieval over the training '
        f'library): torch {100 * tm.get("heldout_exact_torch", 0):.1f} %, onnxruntime '
        f'{100 * tm.get("heldout_exact_onnx", 0):.1f} %\n'
        f'- ONNX vs torch agreement on the held-out set (same greedy plan): '
        f'{100 * tm.get("onnx_torch_agreement", 0):.1f} %\n'
        f'- full training config: `manifest.json` → `train_config`\n')
    return {'sizes': sizes_txt, 'train': train_txt}


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line tool."""
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--model', default=None, help='generator model dir (default: shipped)')
    ap.add_argument('--library', default=None, help='plan library JSONL (default: shipped)')
    ap.add_argument('--n', type=int, default=1000, help='held-out examples')
    ap.add_argument('--seed', type=int, default=12345)
    ap.add_argument('--split-seed', type=int, default=0)
    ap.add_argument('--k', type=int, default=3)
    ap.add_argument('--json', default=None, help='write the results here')
    ap.add_argument('--card', default=None, help='update this MODEL_CARD.md')
    args = ap.parse_args(argv)
    model = args.model or str(default_model_dir())
    library = args.library or str(default_library_path())
    res = evaluate(model, args.n, args.seed, args.split_seed, args.k, library,
                   log=lambda s: print(s, file=sys.stderr, flush=True))
    md = render_markdown(res)
    print(md)
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1))
    if args.card:
        update_card(Path(args.card), md)
        for name, block in model_blocks(Path(model)).items():
            update_card(Path(args.card), block, name)
    return 0


if __name__ == '__main__':
    sys.exit(main())
