"""The model card's generated blocks: evaluation tables, sizes, the training run."""

import json
from pathlib import Path

HEADER = {'rule': 'rule planner', 'retrieval': 'retrieval baseline', 'pipeline': 'pipeline',
          'generator': 'generator alone'}


def _pct(num: int, den: int) -> str:
    return f'{100.0 * num / den:.1f} %' if den else '–'


def render_markdown(res: dict) -> str:
    """Return evaluation results as markdown: one table per planner, one row per subset."""
    lines = [f'Split `{res["split"]}`, {res["n_per_subset"]} cases per subset (seed '
             f'{res["seed"]}), low_battery_policy {res["low_battery_policy"]}; command: '
             f'`{res["command"]}`.', '',
             'exact = the expected code and plan; wrong = a plan that acts (any step but HALT) '
             'other than the expected one and passes the validator, given as the task\'s '
             'plan (a refusal with its safe action, HALT or the charge plan, is a refusal); '
             'rejected = a plan the '
             'validator rejects (generator alone only: a server never returns one); refused '
             'right / other = a refusal with the expected / another code (for an in-scope '
             'task: refused).', '']
    total_wrong = {p: [0, 0] for p in res['counts']}
    for planner, by_subset in res['counts'].items():
        lines += [f'**{HEADER.get(planner, planner)}**', '',
                  '| subset | n | exact | wrong | rejected | refused right | refused other '
                  '| other |',
                  '|---|---:|---:|---:|---:|---:|---:|---:|']
        for subset, c in by_subset.items():
            n = res['n'][subset]
            total_wrong[planner][0] += c.get('wrong', 0)
            total_wrong[planner][1] += n
            lines.append(f'| {subset} | {n} | {_pct(c.get("exact", 0), n)} | '
                         f'{c.get("wrong", 0)} | {c.get("rejected", 0)} | '
                         f'{_pct(c.get("refused_right", 0), n)} | '
                         f'{_pct(c.get("refused_other", 0), n)} | {_pct(c.get("other", 0), n)} |')
        wrong, n = total_wrong[planner]
        named = res['slot_named'].get(planner)
        lines += ['', f'All subsets: {wrong} wrong of {n} ({_pct(wrong, n)}); missing-argument '
                  'refusals that name the right slot: '
                  + ('–' if named is None else f'{100 * named:.1f} %') + '.', '']
    ms = res.get('answer_ms', {})
    if ms:
        lines.append('Answer time per request in-process (one thread, wide budgets): ' + ', '.join(
            f'{HEADER.get(p, p)} p50 {v["p50_ms"]:.2f} / p99 {v["p99_ms"]:.2f} ms'
            for p, v in ms.items()) + '.')
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
        f'- training examples: {tm.get("train_samples")} ({tm.get("negative_samples", 0)} of '
        f'them refusals) from {split.get("train_templates")} wording templates and the train '
        f'split of the negative templates (seed {tc.get("seed")}); held-out check: '
        f'{tm.get("heldout_n")} examples of {split.get("heldout_templates")} templates\n'
        f'- of them composites (2–3 parts): {tc.get("n_composite", 0)} from training '
        f'templates joined in the training combinations of families; held-out check: '
        f'{tm.get("heldout_composite_n", 0)} of dev templates in held-out combinations\n'
        f'- retrieval library: {split.get("library")}, {split.get("library_size")} entries\n'
        f'- {tc.get("epochs")} epochs, batch {tc.get("batch_size")}, AdamW lr {tc.get("lr")} '
        f'one-cycle; training time {tm.get("train_seconds")} s, whole run '
        f'{tm.get("total_seconds")} s\n'
        f'- held-out exact-plan accuracy (training-time check): torch '
        f'{100 * tm.get("heldout_exact_torch", 0):.1f} % single, '
        f'{100 * tm.get("heldout_composite_exact_torch", 0):.1f} % composite; onnxruntime '
        f'{100 * tm.get("heldout_exact_onnx", 0):.1f} % of both\n'
        f'- ONNX vs torch agreement on the held-out set (same greedy output): '
        f'{100 * tm.get("onnx_torch_agreement", 0):.1f} %\n'
        f'- full training config: `manifest.json` → `train_config`\n')
    return {'sizes': sizes_txt, 'train': train_txt}
