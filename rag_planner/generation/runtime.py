"""
Generator runtime: onnxruntime only (no torch), grammar-constrained greedy decoding.

``Generator.load(model_dir)`` reads ``manifest.json`` (sha256 of every file,
budgets, vocabulary constants), checks the files and opens two onnxruntime
sessions: ``encoder.onnx`` (once per request) and ``decoder_step.onnx`` (once
per output token).  ``Generator.generate`` builds the input
(:mod:`rag_planner.generation.augment`), then decodes greedily; at every step the
logits are masked to what the plan grammar allows
(:class:`rag_planner.generation.vocab.GrammarState`), so the result always
parses.  Confidence is the minimum over the chosen tokens of their
probability under the masked distribution.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import json
from pathlib import Path
import time
from typing import Any, Optional, Sequence

import numpy as np
import onnxruntime as ort

from rag_planner.domain.plan_grammar import format_plan, parse_plan, Step
from rag_planner.errors import LoadError, PlannerError
from rag_planner.generation.augment import Budget, build_inputs, ENCODER_INPUTS
from rag_planner.generation.vocab import (
    GrammarState, REFUSAL_LABELS, REFUSAL_TOKENS, REFUSE, Vocab)
from rag_planner.paths import default_model_dir, sha256_file

MANIFEST = 'manifest.json'
FORMAT = 'rag_planner.generator/1'


class GeneratorLoadError(LoadError):
    """The generator model files are missing, corrupt or do not match this code."""


class GenerationError(PlannerError, RuntimeError):
    """Decoding could not produce a plan (bad input or a too small token budget)."""


@dataclass(frozen=True)
class Generation:
    """The result of one generation."""

    steps: tuple[Step, ...]
    confidence: float
    n_tokens: int
    generate_ms: float
    mean_prob: float = 1.0
    copied: tuple[str, ...] = field(default_factory=tuple)
    refusal: str = ''                 # the model refused: 'not_understood' or the missing slot


class Generator:
    """A loaded generator (two onnxruntime sessions + vocabulary + budgets)."""

    def __init__(self, encoder, step, vocab: Vocab, budget: Budget, manifest: dict) -> None:
        """Use :meth:`load` instead."""
        self._enc = encoder
        self._step = step
        self.vocab = vocab
        self.budget = budget
        self.manifest = manifest
        self._enc_names = [i.name for i in encoder.get_inputs()]
        self._V = vocab.size
        self._C = budget.max_candidates
        self._no_hint = np.zeros(1, np.int64)

    @property
    def model_id(self) -> str:
        """Return a short id of the loaded model (sha256 prefix of its files)."""
        return self.manifest.get('model_id', '')

    @property
    def uses_hint(self) -> bool:
        """Return True when the model was trained to read a hint plan (``rule_hint``)."""
        return bool(self.manifest.get('rule_hint'))

    @property
    def embedder_model_id(self) -> str:
        """Return the embedder model id the generator was trained with."""
        return self.manifest.get('embedder_model_id', '')

    @classmethod
    def load(cls, model_dir=None, threads: int = 1,
             expected_embedder_id: Optional[str] = None) -> 'Generator':
        """Load and verify a model directory; raise GeneratorLoadError on any problem."""
        d = Path(model_dir) if model_dir else default_model_dir()
        mpath = d / MANIFEST
        try:
            manifest = json.loads(mpath.read_text())
        except FileNotFoundError:
            raise GeneratorLoadError(f'generator manifest not found: {mpath}') from None
        except (OSError, ValueError) as exc:
            raise GeneratorLoadError(f'cannot read generator manifest {mpath}: {exc}') from None
        if not isinstance(manifest, dict) or manifest.get('format') != FORMAT:
            raise GeneratorLoadError(f'{mpath}: not a {FORMAT} manifest')
        files = manifest.get('files', {})
        for name in ('encoder.onnx', 'decoder_step.onnx', 'vocab.json'):
            if name not in files:
                raise GeneratorLoadError(f'{mpath}: no entry for {name}')
        for name, digest in files.items():
            p = d / name
            if not p.is_file():
                raise GeneratorLoadError(f'generator file missing: {p}')
            if sha256_file(p) != digest:
                raise GeneratorLoadError(f'generator file corrupt (sha256 mismatch): {p}')
        if expected_embedder_id and manifest.get('embedder_model_id') != expected_embedder_id:
            raise GeneratorLoadError(
                f'generator was trained with embedder {manifest.get("embedder_model_id")!r}, '
                f'the running embedder is {expected_embedder_id!r}')
        try:
            vocab = Vocab.from_json((d / 'vocab.json').read_text())
            budget = Budget(**manifest['budget'])
        except (KeyError, TypeError, ValueError) as exc:
            raise GeneratorLoadError(f'{d}: bad vocab or budget: {exc}') from None
        try:
            so = ort.SessionOptions()
            so.intra_op_num_threads = threads
            so.inter_op_num_threads = 1
            so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            so.log_severity_level = 3
            prov = ['CPUExecutionProvider']
            enc = ort.InferenceSession(str(d / 'encoder.onnx'), so, providers=prov)
            step = ort.InferenceSession(str(d / 'decoder_step.onnx'), so, providers=prov)
        except Exception as exc:  # onnxruntime raises its own exception types
            raise GeneratorLoadError(f'cannot open generator ONNX files in {d}: {exc}') from None
        gen = cls(enc, step, vocab, budget, manifest)
        if sorted(gen._enc_names) != sorted(ENCODER_INPUTS):
            raise GeneratorLoadError(f'{d}/encoder.onnx has unexpected inputs {gen._enc_names}')
        return gen

    def generate(self, task: str, state: Any, encoded: Any, retrieved: Sequence[Any] = (),
                 max_new_tokens: int = 64, cfg: Any = None,
                 hint: Optional[Sequence[Step]] = None) -> Generation:
        """
        Decode a plan for ``task``; the result always parses (else GenerationError).

        ``state`` is a RobotState (battery, carrying, location are used),
        ``encoded`` the embedder's Encoded of ``task`` (its token states),
        ``retrieved`` LibraryEntry objects or step sequences (best first),
        ``cfg`` an optional SafetyConfig (min_battery_pct, default_charger,
        max_steps).  Models trained with ``rule_hint`` (:attr:`uses_hint`) also
        read a hint plan: ``hint`` (the caller computes it, see
        :func:`rag_planner.planners.generated.rule_hint`; None or () = no hint).
        """
        t0 = time.perf_counter()
        if encoded is None or getattr(encoded, 'token_states', None) is None:
            raise GenerationError('no token states for the task (encoded is None)')
        min_bat = float(getattr(cfg, 'min_battery_pct', 15.0))
        charger = str(getattr(cfg, 'default_charger', 'CHARGER-1'))
        max_steps = int(getattr(cfg, 'max_steps', 16))
        battery = getattr(state, 'battery_pct', 100.0)
        try:
            battery_low = not float(battery) >= min_bat
        except (TypeError, ValueError):
            battery_low = True
        if not self.uses_hint:
            hint = None
        try:
            inp = build_inputs(task, encoded, retrieved, self.vocab, self.budget,
                               hint=hint or None, battery_low=battery_low,
                               carrying=bool(getattr(state, 'carrying', False)),
                               location=str(getattr(state, 'location', '') or ''),
                               default_charger=charger)
        except (ValueError, TypeError, IndexError, KeyError) as exc:
            raise GenerationError(f'bad generator input: {exc}') from None
        feed = {k: v[None] for k, v in inp.arrays.items()}
        try:
            mem_k, mem_v, bias, cand, cand_bias, h = self._enc.run(None, feed)
        except Exception as exc:  # onnxruntime errors
            raise GenerationError(f'encoder failed: {exc}') from None
        gs = GrammarState(inp.candidates, self._C, self.vocab, max_steps=max_steps,
                          max_new_tokens=max_new_tokens)
        prev = np.array([self.vocab.index['<bos>']], np.int64)
        probs = []
        copied = []
        n = 0
        done = False
        while not done:
            if n >= max_new_tokens:
                raise GenerationError(f'no complete plan within max_new_tokens={max_new_tokens}')
            mask = gs.mask()
            if not mask.any():
                raise GenerationError('no grammatical continuation (task has no usable ids?)')
            hint_tok = inp.hint_seq[n:n + 1] if n < len(inp.hint_seq) else self._no_hint
            logits, h = self._step.run(None, {
                'prev': prev, 'hint': hint_tok, 'h': h, 'mem_k': mem_k, 'mem_v': mem_v,
                'bias': bias, 'cand': cand, 'cand_bias': cand_bias})
            if not np.all(np.isfinite(logits[0][mask])):
                raise GenerationError('decoder produced non-finite logits')
            z = np.where(mask, logits[0], -np.inf)
            idx = int(np.argmax(z))
            zmax = z[idx]
            p = 1.0 / float(np.exp(z[mask] - zmax).sum())
            probs.append(p)
            if idx >= self._V:
                copied.append(inp.candidates[idx - self._V].value)
            done = gs.advance(idx)
            prev = np.array([idx], np.int64)
            n += 1
        steps = tuple(gs.done_steps)
        ms = (time.perf_counter() - t0) * 1000.0
        if steps and steps[0].action == REFUSE:
            label = REFUSAL_LABELS[REFUSAL_TOKENS.index(steps[0].args[0])]
            return Generation(steps=(), confidence=float(min(probs)), n_tokens=n,
                              generate_ms=ms, mean_prob=float(np.mean(probs)), refusal=label)
        try:
            parse_plan(format_plan(steps), max_steps=max_steps)
        except ValueError as exc:  # cannot happen with a correct grammar; never leak it
            raise GenerationError(f'decoded plan does not parse: {exc}') from None
        return Generation(steps=steps, confidence=float(min(probs)), n_tokens=n,
                          generate_ms=ms, mean_prob=float(np.mean(probs)),
                          copied=tuple(copied))

    def bench_tokens(self, encoded: Any, n_tokens: int = 49) -> float:
        """
        Return ms for the encoder plus ``n_tokens`` masked greedy decoder steps.

        A 16-step plan is at most 49 tokens (16 x (action + up to 2 args) +
        ``<eos>``); this times that worst case whatever the model would emit.
        """
        t0 = time.perf_counter()
        inp = build_inputs('', encoded, (), self.vocab, self.budget)
        feed = {k: v[None] for k, v in inp.arrays.items()}
        mem_k, mem_v, bias, cand, cand_bias, h = self._enc.run(None, feed)
        prev = np.array([self.vocab.index['<bos>']], np.int64)
        mask = np.ones(self._V + self._C, bool)
        for _ in range(n_tokens):
            logits, h = self._step.run(None, {
                'prev': prev, 'hint': self._no_hint, 'h': h, 'mem_k': mem_k, 'mem_v': mem_v,
                'bias': bias, 'cand': cand, 'cand_bias': cand_bias})
            z = np.where(mask, logits[0], -np.inf)
            idx = int(np.argmax(z))
            float(np.exp(z[mask] - z[idx]).sum())
            prev = np.array([min(idx, self._V - 1)], np.int64)
        return (time.perf_counter() - t0) * 1000.0
