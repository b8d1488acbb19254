"""
The English words the planner reads: the embedder's own WordPiece vocabulary.

A word of a task that is neither in the MiniLM tokenizer's whole-word vocabulary
(about 22,000 lower-case English words) nor in the warehouse words of
:data:`rag_planner.domain.request.DOMAIN_WORDS` is one the planner was never built
to read.  :func:`rag_planner.domain.request.foreign_language` uses the set to tell
a task in another language ("Zabierz TOTE-55 z DOCK-2 do PACK-6.") from an English
one, without a word list per language.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from rag_planner.domain.request import DOMAIN_WORDS
from rag_planner.retrieval.embedder import extract_tokenizer, ModelLoadError


# WordPiece ids follow how often the tokenizer's corpus used a word: below this rank a
# word is common English; above it the vocabulary holds rarer words and many short
# pieces of other languages ("amin", "ao" of Malagasy).  On dev, test and final2-8 no
# in-scope text has only words above it (measured with the out-of-scope texts).
FREQUENT_RANK = 20000
# Short words collide most across languages ("mai", "def", "ko" of Hawaiian and Wolof
# rank 12,849-14,736; "bin" 8,026, "box" 3,482): one of three letters or fewer is
# common English below this rank only.
SHORT_FREQUENT_RANK = 10000
SHORT_LETTERS = 3


# The words task wordings are made of (rag_planner.training.make_task_words writes it)
TASK_WORDS_FILE = Path(__file__).with_name('data') / 'task_words.txt'


class Lexicon(frozenset):
    """The lexicon's words; ``frequent``: the common ones (see english_words)."""

    frequent: frozenset = frozenset()


@functools.lru_cache(maxsize=1)
def english_words() -> frozenset:
    """
    Return the lexicon; raise ModelLoadError when the tokenizer cannot be read.

    Its ``frequent`` words rank below FREQUENT_RANK, those of SHORT_LETTERS letters or
    fewer below SHORT_FREQUENT_RANK; the domain's words are in both.
    """
    path = extract_tokenizer()
    try:
        vocab = json.loads(path.read_text(encoding='utf-8'))['model']['vocab']
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelLoadError(f'cannot read the vocabulary of {path}: {exc}') from exc
    words = {w for w in vocab if w.isascii() and w.isalpha() and not w.startswith('##')}
    lexicon = Lexicon(words | DOMAIN_WORDS)
    lexicon.frequent = frozenset({w for w in words if vocab[w] < (
        SHORT_FREQUENT_RANK if len(w) <= SHORT_LETTERS else FREQUENT_RANK)} | DOMAIN_WORDS)
    return lexicon


@functools.lru_cache(maxsize=1)
def task_words(path: Path = TASK_WORDS_FILE) -> frozenset:
    """
    Return the words of the task wordings and the domain's; ModelLoadError if unreadable.

    :func:`rag_planner.domain.language.unrelated_clause` counts the common English words
    of a clause that are not among them.
    """
    try:
        lines = path.read_text(encoding='utf-8').splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelLoadError(f'cannot read the task words {path}: {exc}') from exc
    words = frozenset(w.strip() for w in lines if w.strip() and not w.startswith('#'))
    if not words:
        raise ModelLoadError(f'the task words file {path} holds no words')
    return words | DOMAIN_WORDS


__all__ = ['english_words', 'FREQUENT_RANK', 'Lexicon', 'SHORT_FREQUENT_RANK',
           'TASK_WORDS_FILE', 'task_words']
