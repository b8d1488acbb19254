"""
ONNX export of the generator and the ONNX-vs-torch agreement check (imports torch).

Writes ``encoder.onnx``, ``decoder_step.onnx``, ``vocab.json`` and
``manifest.json`` (format, sha256 of every file, budgets, model config,
training config, embedder model id, metrics) into the output directory.
"""

from __future__ import annotations

from dataclasses import asdict
import hashlib
import io
import json
from pathlib import Path
from typing import Any, Sequence
import warnings

import numpy as np

from rag_planner.domain.robot_state import RobotState
from rag_planner.domain.safety import SafetyConfig
from rag_planner.generation.augment import Budget, build_inputs, ENCODER_INPUTS
from rag_planner.generation.runtime import FORMAT, Generator, MANIFEST
from rag_planner.domain.plan_grammar import Step
from rag_planner.generation.vocab import REFUSAL_LABELS, REFUSAL_TOKENS, REFUSE, Vocab
from rag_planner.serving.latency_stats import percentiles
from rag_planner.training.generator_model import ENC_KEYS, EncoderExport, StepExport

OPSET = 17
STEP_INPUTS = ('prev', 'hint', 'h', 'mem_k', 'mem_v', 'bias', 'cand', 'cand_bias')
ENC_OUTPUTS = ('mem_k', 'mem_v', 'bias', 'cand', 'cand_bias', 'h')


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _dummy_inputs(vocab: Vocab, budget: Budget) -> dict:
    class _E:
        token_states = np.random.RandomState(0).randn(12, 384).astype(np.float32)
        token_ids = tuple(range(101, 113))
        offsets = tuple((i, i + 1) for i in range(12))
    inp = build_inputs('pick 3 of SKU-12345 at A01-02', _E(), [], vocab, budget)
    return inp.arrays


def export_model(model: Any, vocab: Vocab, budget: Budget, out_dir: str, cfg: dict,
                 embedder_model_id: str, metrics: dict, command: str = '',
                 rule_hint: bool = False) -> dict:
    """Export ``model`` (torch, eval mode) to ``out_dir``; return a summary dict."""
    import torch
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.eval()
    arrays = _dummy_inputs(vocab, budget)
    enc_args = tuple(torch.from_numpy(arrays[k][None]) for k in ENC_KEYS)
    with torch.no_grad():
        enc_out = model.encode(*enc_args)
    step_args = (torch.tensor([1]), torch.tensor([0]), enc_out[5], enc_out[0], enc_out[1],
                 enc_out[2], enc_out[3], enc_out[4])
    blobs = {}
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        for name, mod, args, inn, outn in (
                ('encoder.onnx', EncoderExport(model), enc_args, ENC_KEYS, ENC_OUTPUTS),
                ('decoder_step.onnx', StepExport(model), step_args, STEP_INPUTS,
                 ('logits', 'h_out'))):
            f = io.BytesIO()
            torch.onnx.export(mod, args, f, input_names=list(inn), output_names=list(outn),
                              opset_version=OPSET, dynamo=False, do_constant_folding=True)
            blobs[name] = f.getvalue()
    blobs['vocab.json'] = vocab.to_json().encode()
    for name, data in blobs.items():
        (out / name).write_bytes(data)
    files = {name: _sha(data) for name, data in blobs.items()}
    params = int(sum(p.numel() for p in model.parameters()))
    manifest = {
        'format': FORMAT,
        'model_id': 'gen-' + _sha(''.join(sorted(files.values())).encode())[:12],
        'files': files,
        'budget': asdict(budget),
        'model_config': model.cfg.to_dict(),
        'params': params,
        'train_config': cfg,
        'embedder_model_id': embedder_model_id,
        'encoder_inputs': list(ENCODER_INPUTS),
        'rule_hint': bool(rule_hint),
        'metrics': metrics,
        'command': command,
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return {'params': params, 'files': files, 'sizes': {k: len(v) for k, v in blobs.items()}}


def onnx_agreement(model_dir: str, samples: Sequence[Any], encs: Sequence[Any],
                   torch_plans: Sequence[tuple]) -> dict:
    """Decode ``samples`` with onnxruntime and compare with the torch plans."""
    gen = Generator.load(model_dir)
    same, exact, ms = [], [], []
    for s, e, tp in zip(samples, encs, torch_plans):
        state = RobotState(location=s.location, carrying=s.carrying,
                           battery_pct=5.0 if s.battery_low else 100.0)
        g = gen.generate(s.task, state, e, s.retrieved, max_new_tokens=64,
                         cfg=SafetyConfig(default_charger=s.default_charger),
                         hint=s.hint or None)
        out = g.steps if not g.refusal else \
            (Step(REFUSE, (REFUSAL_TOKENS[REFUSAL_LABELS.index(g.refusal)],)),)
        same.append(out == tuple(tp))
        exact.append(out == tuple(s.plan))
        ms.append(g.generate_ms)
    return {'onnx_torch_agreement': float(np.mean(same)) if same else 1.0,
            'heldout_exact_onnx': float(np.mean(exact)) if exact else 0.0,
            'onnx_generate_ms_p50': percentiles(ms)['p50_ms'] if ms else 0.0,
            'onnx_generate_ms_p99': percentiles(ms)['p99_ms'] if ms else 0.0}
