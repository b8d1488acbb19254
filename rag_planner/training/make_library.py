"""
``make_library``: write a plan library (JSONL) from the wording generator.

Usage::

    make_library [--out config/plan_library.jsonl] [--n 2400] [--seed 7]
                 [--templates train|all|heldout] [--split-seed 0]

Examples come from :func:`rag_planner.training.wording.generate_examples` restricted to the
*train* templates of :func:`rag_planner.training.wording.split_templates` by default, so the
held-out wordings stay out of the shipped library and can measure generalisation.
Duplicate wordings (same normalised text) are dropped, families are balanced
(``n / len(FAMILIES)`` each), and every entry is validated with
:func:`rag_planner.domain.safety.validate_plan` before anything is written.  The library
version is ``<seed>-<sha256 of the entries, 12 hex>`` so an index built from another
library content never passes as current.  Use ``--n 100000`` and an ``--out`` under
/tmp for benchmark-sized synthetic libraries.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
import sys
from typing import Optional

from rag_planner.domain.request import task_key
from rag_planner.domain.task_families import FAMILIES
from rag_planner.retrieval.plan_library import check_entry, LibraryError, make_entry, write_library
from rag_planner.training import wording


def make_entries(n: int, seed: int = 7, templates: str = 'train', split_seed: int = 0,
                 cfg=None) -> list:
    """Generate ``n`` validated, de-duplicated, family-balanced library entries."""
    train, held = wording.split_templates(split_seed)
    chosen = {'train': list(train), 'heldout': list(held), 'all': None}[templates]
    per_family = -(-n // len(FAMILIES))
    entries = []
    seen = set()
    for fam_no, family in enumerate(FAMILIES):
        fam_templates = None
        if chosen is not None:
            fam_templates = [t for t in chosen if t.split('/')[0] == family]
        got = 0
        attempt = 0
        while got < per_family and attempt < 20:
            batch = wording.generate_examples(per_family * 2, seed * 1000 + fam_no * 50
                                              + attempt, families=[family],
                                              templates=fam_templates)
            attempt += 1
            for ex in batch:
                key = task_key(ex.task)
                if key in seen or got >= per_family:
                    continue
                seen.add(key)
                entry = make_entry('{}-{:05d}'.format(family, got), family, ex.task, ex.plan,
                                   source='wording-generator', template=ex.template_id,
                                   generator='rag_planner.training.wording seed={}'.format(seed))
                problems = check_entry(entry, cfg)
                if problems:
                    raise LibraryError('generated entry {!r} ({!r}) fails validation: {}'.format(
                        entry.id, ex.task, '; '.join(problems)))
                entries.append(entry)
                got += 1
    entries = entries[:n] if len(entries) > n else entries
    return entries


def library_version(entries, seed: int) -> str:
    """Return a content-derived version string."""
    digest = hashlib.sha256()
    for entry in entries:
        digest.update(json.dumps(entry.to_json(), sort_keys=True).encode('utf-8'))
    return '{}-{}'.format(seed, digest.hexdigest()[:12])


def main(argv: Optional[list] = None) -> int:
    """Run the command line tool."""
    parser = argparse.ArgumentParser(prog='make_library', description=__doc__.split('\n')[0])
    parser.add_argument('--out', type=Path, default=Path('config/plan_library.jsonl'))
    parser.add_argument('--n', type=int, default=2420)
    parser.add_argument('--seed', type=int, default=7)
    parser.add_argument('--templates', choices=('train', 'all', 'heldout'), default='train')
    parser.add_argument('--split-seed', type=int, default=0)
    args = parser.parse_args(argv)

    try:
        entries = make_entries(args.n, args.seed, args.templates, args.split_seed)
        version = library_version(entries, args.seed)
        entries = [type(e)(id=e.id, family=e.family, task=e.task, plan=e.plan,
                           conditions=e.conditions,
                           provenance=dict(e.provenance, library_version=version))
                   for e in entries]
        write_library(args.out, entries, version,
                      generator='make_library --n {} --seed {} --templates {} '
                                '--split-seed {}'.format(args.n, args.seed, args.templates,
                                                         args.split_seed),
                      description='Validated task wordings and canonical plans of every '
                                  'task family (DESIGN.md); held-out wording templates are '
                                  'excluded when --templates=train.')
    except LibraryError as exc:
        print('make_library: {}'.format(exc), file=sys.stderr)
        return 2
    families = {}
    for entry in entries:
        families[entry.family] = families.get(entry.family, 0) + 1
    print('make_library: wrote {} entries (version {}) to {}: {}'.format(
        len(entries), version, args.out, families))
    return 0


if __name__ == '__main__':
    sys.exit(main())
