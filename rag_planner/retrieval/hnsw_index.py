"""
Persisted HNSW index (hnswlib, cosine) of plan-library vectors, with a manifest.

An index directory holds::

    index.bin      hnswlib graph + vectors (label i = row i of meta.json "ids")
    meta.json      ids, dim, count, params, embedder model id, library version, core set
    core.npy       float32 vectors of the core set (exact k-NN fallback), optional
    manifest.json  format, sha256 + size of every file above, embedder model id,
                   library version, index parameters, count, dim

:meth:`PlanIndex.load` checks the manifest *before* handing any byte to hnswlib
(a damaged hnswlib file can crash the process instead of raising), then checks
that meta.json agrees with the manifest and that the expected embedder model id
and library version match.  Every failure raises :class:`IndexLoadError` whose
message says which file is missing, corrupt, tampered with or mismatched and how to
fix it (rebuild with ``build_index``).  The manifest is an integrity check against
damage and accidental mixing, not a signature: whoever can rewrite the manifest can
rewrite the index.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
import json
import os
from pathlib import Path
import time
from typing import Optional, Sequence

import hnswlib
import numpy as np

from rag_planner.errors import LoadError
from rag_planner.paths import sha256_file

FORMAT = 'rag_planner.plan_index/1'
INDEX_FILE = 'index.bin'
META_FILE = 'meta.json'
CORE_FILE = 'core.npy'
MANIFEST_FILE = 'manifest.json'


class IndexLoadError(LoadError):
    """The index directory is missing, corrupt, tampered with or mismatched."""


@dataclass(frozen=True)
class IndexParams:
    """HNSW build and search parameters."""

    space: str = 'cosine'
    M: int = 16
    ef_construction: int = 100
    ef_search: int = 64
    seed: int = 100

    def to_dict(self) -> dict:
        """Return a JSON-friendly dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> 'IndexParams':
        """Build from a dict, rejecting unknown keys and bad values."""
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError('unknown index parameter(s): {}'.format(sorted(unknown)))
        params = cls(**data)
        if params.space not in ('cosine', 'ip', 'l2'):
            raise ValueError('space must be cosine, ip or l2')
        for name in ('M', 'ef_construction', 'ef_search'):
            value = getattr(params, name)
            if not isinstance(value, int) or value < 2:
                raise ValueError('{} must be an int >= 2'.format(name))
        return params


@dataclass
class IndexMeta:
    """Everything about an index besides the graph."""

    ids: list
    dim: int
    params: IndexParams
    model_id: str = ''
    library_version: str = ''
    core_ids: list = field(default_factory=list)
    build_seconds: float = 0.0
    created_utc: str = ''


class PlanIndex:
    """HNSW index over library vectors, labelled by library entry ids."""

    def __init__(self, index, meta: IndexMeta, core_vectors: Optional[np.ndarray] = None):
        """Wrap a ready hnswlib index; use :meth:`build` or :meth:`load`."""
        self._index = index
        self.meta = meta
        self._ids = meta.ids
        self.core_vectors = core_vectors
        self._index.set_ef(max(meta.params.ef_search, 1))
        self._index.set_num_threads(1)

    # ---------------------------------------------------------------- build / query
    @classmethod
    def build(cls, vectors, ids: Sequence[str], params: Optional[IndexParams] = None,
              model_id: str = '', library_version: str = '', threads: int = 1,
              core_ids: Sequence[str] = (), progress: bool = False) -> 'PlanIndex':
        """Build an index from an ``(n, dim)`` array and ``n`` unique string ids."""
        params = params or IndexParams()
        mat = np.ascontiguousarray(np.asarray(vectors, dtype=np.float32))
        if mat.ndim != 2 or mat.shape[0] != len(ids):
            raise ValueError('need an (n, dim) array for n={} ids, got {}'.format(
                len(ids), mat.shape))
        if len(set(ids)) != len(ids):
            raise ValueError('ids must be unique')
        if not np.all(np.isfinite(mat)):
            raise ValueError('vectors contain NaN or inf')
        start = time.perf_counter()
        index = hnswlib.Index(space=params.space, dim=int(mat.shape[1]))
        index.init_index(max_elements=max(1, len(ids)), ef_construction=params.ef_construction,
                         M=params.M, random_seed=params.seed)
        index.set_num_threads(max(1, threads))
        chunk = 10000
        bar = None
        if progress:
            try:
                from tqdm import tqdm
                bar = tqdm(total=len(ids), unit='vec', desc='hnsw')
            except ImportError:
                bar = None
        for lo in range(0, len(ids), chunk):
            hi = min(len(ids), lo + chunk)
            index.add_items(mat[lo:hi], np.arange(lo, hi), num_threads=max(1, threads))
            if bar is not None:
                bar.update(hi - lo)
        if bar is not None:
            bar.close()
        position = {i: n for n, i in enumerate(ids)}
        missing = [c for c in core_ids if c not in position]
        if missing:
            raise ValueError('core ids not in the index: {}'.format(missing[:5]))
        core = mat[[position[c] for c in core_ids]] if core_ids else None
        meta = IndexMeta(ids=list(ids), dim=int(mat.shape[1]), params=params,
                         model_id=model_id, library_version=library_version,
                         core_ids=list(core_ids),
                         build_seconds=round(time.perf_counter() - start, 3),
                         created_utc=time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()))
        return cls(index, meta, core)

    def __len__(self) -> int:
        """Return the number of indexed vectors."""
        return len(self._ids)

    @property
    def ids(self) -> list:
        """Return the ids in label order."""
        return self._ids

    @property
    def model_id(self) -> str:
        """Return the embedder model id the vectors were made with."""
        return self.meta.model_id

    def set_ef(self, ef: int) -> None:
        """Set the search beam width (recall / latency trade-off)."""
        self._index.set_ef(int(ef))

    def query(self, vec, k: int = 10) -> list:
        """Return up to ``k`` ``(id, cosine similarity)`` pairs, best first."""
        k = min(int(k), len(self._ids))
        if k <= 0:
            return []
        labels, dists = self._index.knn_query(np.asarray(vec, dtype=np.float32).reshape(1, -1),
                                              k=k, num_threads=1)
        return [(self._ids[int(lab)], 1.0 - float(dist))
                for lab, dist in zip(labels[0], dists[0])]

    def query_labels(self, queries, k: int = 10, threads: int = 1) -> tuple:
        """Batch query: return ``(labels (n, k), cosine (n, k))``."""
        labels, dists = self._index.knn_query(np.asarray(queries, dtype=np.float32), k=k,
                                              num_threads=threads)
        return labels, 1.0 - dists

    def get_vectors(self, ids: Sequence[str]) -> np.ndarray:
        """Return the stored (normalised) vectors of ``ids``."""
        position = {i: n for n, i in enumerate(self._ids)}
        return np.asarray(self._index.get_items([position[i] for i in ids]), dtype=np.float32)

    # ---------------------------------------------------------------- persistence
    def save(self, directory) -> Path:
        """Write index.bin, meta.json, core.npy and manifest.json into ``directory``."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        (out / MANIFEST_FILE).unlink(missing_ok=True)  # no stale manifest if we fail
        self._index.save_index(str(out / INDEX_FILE))
        meta = asdict(self.meta)
        meta['params'] = self.meta.params.to_dict()
        meta['count'] = len(self._ids)
        _write_json(out / META_FILE, meta)
        files = [INDEX_FILE, META_FILE]
        if self.core_vectors is not None and len(self.meta.core_ids):
            np.save(out / CORE_FILE, np.asarray(self.core_vectors, dtype=np.float32))
            files.append(CORE_FILE)
        else:
            (out / CORE_FILE).unlink(missing_ok=True)
        manifest = {
            'format': FORMAT,
            'embedder_model_id': self.meta.model_id,
            'library_version': self.meta.library_version,
            'params': self.meta.params.to_dict(),
            'count': len(self._ids),
            'dim': self.meta.dim,
            'files': {name: {'sha256': sha256_file(out / name),
                             'bytes': (out / name).stat().st_size} for name in files},
        }
        _write_json(out / MANIFEST_FILE, manifest)
        return out

    @classmethod
    def load(cls, directory, expected_model_id: Optional[str] = None,
             expected_library_version: Optional[str] = None,
             verify_hashes: bool = True) -> 'PlanIndex':
        """Load and verify an index directory; raise :class:`IndexLoadError` on any fault."""
        path = Path(directory)
        manifest = verify_manifest(path, verify_hashes=verify_hashes)
        if expected_model_id is not None and manifest['embedder_model_id'] != expected_model_id:
            raise IndexLoadError(
                'index {} was built with embedder {!r} but the running embedder is {!r}; '
                'rebuild it with build_index'.format(
                    path, manifest['embedder_model_id'], expected_model_id))
        if (expected_library_version is not None
                and manifest['library_version'] != expected_library_version):
            raise IndexLoadError(
                'index {} holds library version {!r}, expected {!r}; rebuild it with '
                'build_index'.format(path, manifest['library_version'],
                                     expected_library_version))
        try:
            raw = json.loads((path / META_FILE).read_text(encoding='utf-8'))
            params = IndexParams.from_dict(raw['params'])
            meta = IndexMeta(ids=list(raw['ids']), dim=int(raw['dim']), params=params,
                             model_id=raw.get('model_id', ''),
                             library_version=raw.get('library_version', ''),
                             core_ids=list(raw.get('core_ids', [])),
                             build_seconds=float(raw.get('build_seconds', 0.0)),
                             created_utc=raw.get('created_utc', ''))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise IndexLoadError('index metadata {} is corrupt: {}'.format(
                path / META_FILE, exc)) from exc
        problems = []
        if len(meta.ids) != manifest['count']:
            problems.append('meta has {} ids, manifest says {}'.format(
                len(meta.ids), manifest['count']))
        if len(set(meta.ids)) != len(meta.ids):
            problems.append('duplicate ids in meta.json')
        if meta.dim != manifest['dim']:
            problems.append('dim {} != manifest dim {}'.format(meta.dim, manifest['dim']))
        if params.to_dict() != manifest['params']:
            problems.append('params differ from the manifest')
        if meta.model_id != manifest['embedder_model_id']:
            problems.append('embedder model id differs from the manifest')
        if meta.library_version != manifest['library_version']:
            problems.append('library version differs from the manifest')
        if problems:
            raise IndexLoadError('index {} is inconsistent: {}'.format(path, '; '.join(problems)))
        try:
            index = hnswlib.Index(space=params.space, dim=meta.dim)
            index.load_index(str(path / INDEX_FILE), max_elements=max(1, len(meta.ids)))
        except (RuntimeError, ValueError, MemoryError, OSError) as exc:
            raise IndexLoadError('hnswlib cannot read {}: {}'.format(
                path / INDEX_FILE, exc)) from exc
        if index.get_current_count() != len(meta.ids):
            raise IndexLoadError('index {} holds {} vectors, meta.json lists {} ids'.format(
                path, index.get_current_count(), len(meta.ids)))
        core = None
        if meta.core_ids:
            if CORE_FILE not in manifest['files']:
                raise IndexLoadError('index {} lists a core set but {} is not in the '
                                     'manifest'.format(path, CORE_FILE))
            try:
                core = np.load(path / CORE_FILE, allow_pickle=False)
            except (OSError, ValueError) as exc:
                raise IndexLoadError('core set {} is corrupt: {}'.format(
                    path / CORE_FILE, exc)) from exc
            if core.shape != (len(meta.core_ids), meta.dim):
                raise IndexLoadError('core set {} has shape {}, expected {}'.format(
                    path / CORE_FILE, core.shape, (len(meta.core_ids), meta.dim)))
        return cls(index, meta, core)


def verify_manifest(path: Path, verify_hashes: bool = True) -> dict:
    """Check that every file the manifest lists exists with its size and sha256."""
    path = Path(path)
    if not path.is_dir():
        raise IndexLoadError('index directory {} does not exist; build it with build_index'
                             .format(path))
    mpath = path / MANIFEST_FILE
    if not mpath.is_file():
        raise IndexLoadError('index manifest {} is missing; rebuild the index with '
                             'build_index'.format(mpath))
    try:
        manifest = json.loads(mpath.read_text(encoding='utf-8'))
        files = manifest['files']
        for key in ('embedder_model_id', 'library_version', 'params', 'count', 'dim'):
            manifest[key]
        if manifest.get('format') != FORMAT:
            raise ValueError('unknown format {!r}'.format(manifest.get('format')))
        if not isinstance(files, dict):
            raise ValueError('files must be a mapping')
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexLoadError('index manifest {} is corrupt: {}'.format(mpath, exc)) from exc
    for required in (INDEX_FILE, META_FILE):
        if required not in files:
            raise IndexLoadError('index manifest {} does not list {}'.format(mpath, required))
    for name, info in files.items():
        fpath = path / name
        if os.sep in name or name.startswith('.') or not fpath.is_file():
            raise IndexLoadError('index file {} is missing; rebuild the index with '
                                 'build_index'.format(fpath))
        try:
            size = fpath.stat().st_size
            if size != int(info['bytes']):
                raise IndexLoadError('index file {} is corrupt or truncated: {} bytes, '
                                     'manifest says {}'.format(fpath, size, info['bytes']))
            if verify_hashes and sha256_file(fpath) != info['sha256']:
                raise IndexLoadError('index file {} was modified or is corrupt: sha256 does '
                                     'not match the manifest'.format(fpath))
        except (OSError, KeyError, TypeError, ValueError) as exc:
            raise IndexLoadError('cannot verify index file {}: {}'.format(fpath, exc)) from exc
    return manifest


def _write_json(path: Path, data) -> None:
    tmp = path.with_name('.' + path.name + '.tmp')
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + '\n', encoding='utf-8')
    os.replace(tmp, path)
