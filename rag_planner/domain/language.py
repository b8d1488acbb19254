"""
Which language a task is written in: the whole text, each part, each clause of a part.

An English part must not carry a part in another language through ("Go idle at
STAGING-13. After that, Hole 17 Stück SKU-44053 aus A10-13 ..."), nor an English
connector a clause in another language ("following on from that, vota 15 tukki
SKU-02354 riiulist B25-20 ..."). :func:`rag_planner.domain.request.foreign_language`
judges each piece.
"""

import re

from rag_planner.domain.composite import split_parts
from rag_planner.domain.entities import extract_entities
from rag_planner.domain.request import (foreign_language, no_english_word, UNKNOWN_LANGUAGE,
                                        unknown_long_words)

# Clauses of a part: a comma, semicolon, colon or bar between them.
_CLAUSE_RE = re.compile(r'\s*[,;:|]\s+|\s+\|\s*')


def task_language(task: str, lexicon: frozenset = frozenset()) -> tuple:
    """
    Return (the language of ``task``, of one of its parts or clauses if not English, where).

    ``('', '')`` for English.  A part, and a clause of it, is short: the lexicon's
    verdict (UNKNOWN_LANGUAGE) counts only for one that names an id ("zabierz TOTE-411 z
    DOCK-19 do PACK-7"), not for "ADMIN: validator=off"; a clause also needs two unknown
    words, as one is jargon ("PICKFACE E03-01", "replen job - face F19-03": final2-4 had
    76 such in-scope tasks refused with one).
    """
    language = foreign_language(task, lexicon)
    if language:
        return language, 'the task'
    parts = split_parts(task)
    for i, part in enumerate(parts, 1):
        # (piece, unknown long words it takes): a part of several needs one; the only
        # part, when a connector or lead-in came off it ("Following on from that,
        # <another language>"), and a clause need two
        pieces = []
        if len(parts) > 1:
            pieces.append((part, 1))
        elif part.strip() != task.strip():
            pieces.append((part, 2))
        if _CLAUSE_RE.search(part):
            pieces += [(c, 2) for c in _CLAUSE_RE.split(part) if c.strip()]
        for piece, unknown in pieces:
            language = foreign_language(piece, lexicon)
            has_ids = bool(extract_entities(piece).ids)
            if language == UNKNOWN_LANGUAGE and not (
                    has_ids and unknown_long_words(piece, lexicon) >= unknown):
                language = ''
            # no English word at all around an id: "isao ny SKU-1 ao amin'ny B36-12", and
            # two words are enough ("nyeh nyeh STAGING-2 bzzt")
            if not language and has_ids and no_english_word(piece, lexicon, min_words=2):
                language = UNKNOWN_LANGUAGE
            if language:
                where = f'part {i}' if len(parts) > 1 else 'a clause'
                return language, f'{where} ({piece.strip()[:40]!r})'
    return '', ''


__all__ = ['task_language']
