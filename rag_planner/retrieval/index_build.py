"""
``build_index``: plan library -> HNSW index directory with a verified manifest.

Usage::

    build_index [--library config/plan_library.jsonl] [--out DIR]
                [--M 16] [--ef-construction 100] [--ef-search 64]
                [--core-per-template 2] [--core-max 600] [--threads 1]

The library is validated entry by entry first (a bad entry stops the build and is
named).  Every task wording is embedded (progress bar), the vectors go into an
hnswlib cosine index, and ``index.bin``, ``meta.json``, ``core.npy`` (vectors of the
exact k-NN core set) and ``manifest.json`` are written to ``--out`` (default
``~/.cache/rag_planner/plan_index``).  Exit status 2 on a library or model error.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
import os
from pathlib import Path
import shutil
import sys
import tempfile
import time
from typing import Optional, Sequence

from rag_planner.paths import default_index_dir, default_library_path
from rag_planner.retrieval.embedder import Embedder, ModelLoadError
from rag_planner.retrieval.hnsw_index import IndexLoadError, IndexParams, MANIFEST_FILE, PlanIndex
from rag_planner.retrieval.plan_library import LibraryError, read_library

DEFAULT_PARAMS = {'M': 16, 'ef_construction': 100, 'ef_search': 64}


def select_core(entries: Sequence, per_group: int = 4, max_size: int = 600) -> list:
    """
    Pick the exact k-NN's core set: ``per_group`` entries per (family, template), round-robin.

    Every family and every wording template is covered before any gets a second
    member; the result never exceeds ``max_size`` ids.
    """
    groups = defaultdict(list)
    for entry in entries:
        groups[(entry.family, entry.provenance.get('template', ''))].append(entry.id)
    chosen = []
    for rank in range(per_group):
        for key in sorted(groups):
            if rank < len(groups[key]) and len(chosen) < max_size:
                chosen.append(groups[key][rank])
    return chosen


def build_index_dir(library_path, out_dir, embedder=None, params=None, cfg=None,
                    core_per_template: int = 4, core_max: int = 600, threads: int = 1,
                    progress: bool = False):
    """
    Build and save the index of a library; return the :class:`PlanIndex`.

    Raises ``LibraryError`` for a bad library and ``ModelLoadError`` for a bad
    embedder model.  This is what the plan server calls when its index is missing.
    """
    library = read_library(library_path, cfg)
    embedder = embedder or Embedder.load()
    vectors = embedder.embed_batch([e.task for e in library.entries], progress=progress)
    ids = [e.id for e in library.entries]
    core = select_core(library.entries, per_group=core_per_template, max_size=core_max)
    index = PlanIndex.build(vectors, ids, params or IndexParams(**DEFAULT_PARAMS),
                            model_id=embedder.model_id, library_version=library.version,
                            threads=threads, core_ids=core, progress=progress)
    index.save(out_dir)
    return index


def load_or_build_index(index_dir, library, library_path, embedder, cfg=None,
                        build_missing: bool = True, rebuild_unusable: bool = False,
                        log=None):
    """
    Load a verified index; build it when it is missing (or unusable, if allowed).

    A build goes to a temporary folder beside ``index_dir`` and is renamed into
    place, so a reader never sees half an index and two planners starting
    together do not trip over each other. Raises ``IndexLoadError`` when the
    index cannot be used and may not be (re)built.
    """
    path = Path(index_dir)
    missing = not (path / MANIFEST_FILE).is_file()
    try:
        return PlanIndex.load(path, expected_model_id=embedder.model_id,
                              expected_library_version=library.version)
    except IndexLoadError as exc:
        if not (build_missing if missing else rebuild_unusable):
            raise
        if log is not None:
            log(f'index {path} unusable ({exc}); rebuilding' if not missing else
                f'building the HNSW index of {len(library)} library plans into {path}')
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix='.index-', dir=path.parent))
    build_index_dir(library_path, tmp, embedder=embedder, cfg=cfg)
    if path.exists():
        shutil.rmtree(path, ignore_errors=True)
    try:
        os.replace(tmp, path)
    except OSError:  # another planner built it at the same moment: use theirs
        shutil.rmtree(tmp, ignore_errors=True)
    return PlanIndex.load(path, expected_model_id=embedder.model_id,
                          expected_library_version=library.version)


def main(argv: Optional[list] = None) -> int:
    """Run the command line tool."""
    parser = argparse.ArgumentParser(prog='build_index', description=__doc__.split('\n')[0])
    parser.add_argument('--library', type=Path, default=None,
                        help='plan library JSONL (default: the shipped one)')
    parser.add_argument('--out', type=Path, default=None, help='index folder')
    parser.add_argument('--M', type=int, default=DEFAULT_PARAMS['M'])
    parser.add_argument('--ef-construction', type=int, default=DEFAULT_PARAMS['ef_construction'])
    parser.add_argument('--ef-search', type=int, default=DEFAULT_PARAMS['ef_search'])
    parser.add_argument('--core-per-template', type=int, default=4)
    parser.add_argument('--core-max', type=int, default=600)
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--quiet', action='store_true')
    args = parser.parse_args(argv)

    library = args.library or default_library_path()
    out = args.out or default_index_dir()
    params = IndexParams(M=args.M, ef_construction=args.ef_construction,
                         ef_search=args.ef_search)
    start = time.perf_counter()
    try:
        index = build_index_dir(library, out, params=params,
                                core_per_template=args.core_per_template,
                                core_max=args.core_max, threads=args.threads,
                                progress=not args.quiet)
    except (LibraryError, ModelLoadError) as exc:
        print('build_index: {}'.format(exc), file=sys.stderr)
        return 2
    print('build_index: {} entries (library {}), core set {}, model {}, params {} -> {} '
          'in {:.1f} s'.format(len(index), index.meta.library_version, len(index.meta.core_ids),
                               index.model_id, params.to_dict(), out,
                               time.perf_counter() - start))
    return 0


if __name__ == '__main__':
    sys.exit(main())
