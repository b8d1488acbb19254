"""
Write the words tasks are made of (``retrieval/data/task_words.txt``) from the templates.

The language check (:func:`rag_planner.domain.language.unrelated_clause`) counts, in
every clause of a task that names no id, the common English words that no task wording
ever used: a clause of several such words asks for something that is no task ("...,
y despues shuffle and deal the cards for Friday's poker night").  The words are those of
the training wordings, their noise (greetings, courtesies, lead-ins) and the tuning
splits' wordings and connectors (dev, test and the blind splits already reported on and
looked at); never an out-of-scope text, and never a split that is still to be reported
on (:data:`REPORT_ONLY`).

Usage: ``python -m rag_planner.training.make_task_words`` (rewrites the file).
"""

from __future__ import annotations

import argparse
from pathlib import Path
import re
import sys
from typing import Iterable, Optional, Sequence

import yaml

from rag_planner.retrieval.lexicon import TASK_WORDS_FILE

DATA = Path(__file__).with_name('data')
# Blind splits not yet reported on: their words must not shape the check they measure.
REPORT_ONLY = frozenset({'final15'})
_WORD_RE = re.compile(r"[a-z]+(?:'[a-z]+)?")


def _strings(node) -> Iterable[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def template_files() -> list[Path]:
    """Return the template files whose wordings count (training first, then tuning)."""
    blind = sorted(p for p in DATA.glob('final*_templates.yaml')
                   if p.name.split('_')[0] not in REPORT_ONLY)
    return [DATA / 'wording_templates.yaml'] + blind


def task_words(paths: Sequence[Path]) -> list[str]:
    """Return the sorted words of the in-scope wordings and connectors of ``paths``."""
    words: set = set()
    for path in paths:
        doc = yaml.safe_load(path.read_text(encoding='utf-8')) or {}
        # training: templates + noise; blind splits: wording + connectors (their
        # negative texts are out of scope by construction and stay out)
        for key in ('templates', 'noise', 'wording', 'connectors'):
            for text in _strings(doc.get(key)):
                words.update(_WORD_RE.findall(re.sub(r'\{\w+\}', ' ', text.lower())))
    return sorted(words)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line tool."""
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[1])
    ap.add_argument('--out', default=str(TASK_WORDS_FILE))
    args = ap.parse_args(argv)
    paths = template_files()
    words = task_words(paths)
    header = ('# Words of the task wordings (rag_planner.training.make_task_words), from: '
              + ', '.join(p.name for p in paths))
    Path(args.out).write_text(header + '\n' + '\n'.join(words) + '\n', encoding='utf-8')
    print(f'{len(words)} words -> {args.out}', file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(main())
