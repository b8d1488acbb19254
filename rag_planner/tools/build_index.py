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
import sys
import time
from pathlib import Path
from typing import Optional

DEFAULT_PARAMS = {'M': 16, 'ef_construction': 100, 'ef_search': 64}


def default_library_path() -> Path:
    """Return the shipped plan library (installed share dir, else the source tree)."""
    try:
        from rag_planner.paths import config_file
        path = config_file('plan_library.jsonl')
        if path.is_file():
            return path
    except Exception:  # noqa: B902 (no ament environment: use the source tree)
        pass
    return Path(__file__).resolve().parents[2] / 'config' / 'plan_library.jsonl'


def default_index_dir() -> Path:
    """Return the default output folder of the index."""
    from rag_planner.embedder import default_cache_dir
    return default_cache_dir() / 'plan_index'


def build_index_dir(library_path, out_dir, embedder=None, params=None, cfg=None,
                    core_per_template: int = 4, core_max: int = 600, threads: int = 1,
                    progress: bool = False):
    """
    Build and save the index of a library; return the :class:`PlanIndex`.

    Raises ``LibraryError`` for a bad library and ``ModelLoadError`` for a bad
    embedder model.  This is what the plan server calls when its index is missing.
    """
    from rag_planner.embedder import Embedder
    from rag_planner.plan_library import read_library
    from rag_planner.retriever import select_core
    from rag_planner.vector_index import IndexParams, PlanIndex

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

    from rag_planner.embedder import ModelLoadError
    from rag_planner.plan_library import LibraryError
    from rag_planner.vector_index import IndexParams

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
