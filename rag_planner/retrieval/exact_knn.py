"""
Exact cosine k-NN by numpy brute force, the fallback behind the HNSW index.

It is meant for a small *core set* of the library (a few hundred entries that cover
every family and wording template): one query is a single ``(n, 384) @ (384,)``
product plus an ``argpartition``, a few tens of microseconds, and it has no state
that can be corrupted beyond the arrays it was given.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


class ExactKnn:
    """Brute-force cosine nearest neighbours over an in-memory matrix."""

    def __init__(self, vectors, ids: Sequence[str]):
        """Keep L2-normalised float32 copies of ``vectors`` labelled by ``ids``."""
        mat = np.asarray(vectors, dtype=np.float32)
        if mat.ndim != 2:
            raise ValueError('vectors must be a 2-d array, got shape {}'.format(mat.shape))
        if mat.shape[0] != len(ids):
            raise ValueError('{} vectors but {} ids'.format(mat.shape[0], len(ids)))
        if not np.all(np.isfinite(mat)):
            raise ValueError('vectors contain NaN or inf')
        norms = np.linalg.norm(mat, axis=1, keepdims=True)
        self._mat = np.ascontiguousarray(mat / np.maximum(norms, 1e-12))
        self._ids = list(ids)

    def __len__(self) -> int:
        """Return the number of vectors."""
        return len(self._ids)

    @property
    def dim(self) -> int:
        """Return the vector dimension."""
        return int(self._mat.shape[1])

    @property
    def ids(self) -> list:
        """Return the ids in row order."""
        return list(self._ids)

    @property
    def vectors(self) -> np.ndarray:
        """Return the normalised matrix (read-only view)."""
        view = self._mat.view()
        view.flags.writeable = False
        return view

    def query(self, vec, k: int = 10) -> list:
        """Return up to ``k`` ``(id, cosine)`` pairs, best first."""
        if not self._ids or k <= 0:
            return []
        q = np.asarray(vec, dtype=np.float32).reshape(-1)
        if q.shape[0] != self._mat.shape[1]:
            raise ValueError('query has dim {}, index has {}'.format(q.shape[0], self.dim))
        norm = float(np.linalg.norm(q))
        if norm > 0:
            q = q / norm
        scores = self._mat @ q
        k = min(k, len(self._ids))
        if k < len(self._ids):
            top = np.argpartition(-scores, k - 1)[:k]
        else:
            top = np.arange(len(self._ids))
        top = top[np.argsort(-scores[top], kind='stable')]
        return [(self._ids[i], float(scores[i])) for i in top]

    def query_labels(self, queries, k: int = 10) -> tuple:
        """Batch query: return ``(row indices (n, k), cosines (n, k))``, best first."""
        qs = np.asarray(queries, dtype=np.float32)
        if qs.ndim == 1:
            qs = qs[None, :]
        qs = qs / np.maximum(np.linalg.norm(qs, axis=1, keepdims=True), 1e-12)
        k = min(k, len(self._ids))
        scores = qs @ self._mat.T
        if k < scores.shape[1]:
            top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        else:
            top = np.tile(np.arange(scores.shape[1]), (scores.shape[0], 1))
        part = np.take_along_axis(scores, top, axis=1)
        order = np.argsort(-part, axis=1, kind='stable')
        return np.take_along_axis(top, order, axis=1), np.take_along_axis(part, order, axis=1)
