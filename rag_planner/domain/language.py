"""
Which language a task is written in: the whole text, each part, each clause of a part.

An English part must not carry a part in another language through ("Go idle at
STAGING-13. After that, Hole 17 Stück SKU-44053 aus A10-13 ..."), nor an English
connector a clause in another language ("following on from that, vota 15 tukki
SKU-02354 riiulist B25-20 ..."). :func:`rag_planner.domain.request.foreign_language`
judges each piece.
"""

import re

from rag_planner.domain.composite import RULE_TALK_RE, split_parts
from rag_planner.domain.entities import extract_entities, WORD_NUMBERS
from rag_planner.domain.request import (foreign_language, in_lexicon, no_english_word,
                                        UNKNOWN_LANGUAGE, unknown_long_words)

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
            # (whether the piece names an id is asked last: reading its entities costs
            # more than the word checks, which settle most pieces first)
            if language == UNKNOWN_LANGUAGE and not (
                    unknown_long_words(piece, lexicon) >= unknown
                    and extract_entities(piece).ids):
                language = ''
            # no English word at all around an id: "isao ny SKU-1 ao amin'ny B36-12", and
            # two words are enough ("nyeh nyeh STAGING-2 bzzt")
            if not language and no_english_word(piece, lexicon, min_words=2) \
                    and extract_entities(piece).ids:
                language = UNKNOWN_LANGUAGE
            if language:
                where = f'part {i}' if len(parts) > 1 else 'a clause'
                return language, f'{where} ({piece.strip()[:40]!r})'
    return '', ''


# A clause of this many English words that no task wording uses asks for something that
# is no task.  Measured leaving one split out (each of final2-final12, 200 texts a
# subset, against the words of the other templates): 2 flagged 3.9 % of in-scope texts
# and 14.7 % of composites, 3 flagged 0.18 % and 0.9 % (4 and 20 of 2,200), 4 flagged
# none and 0.05 %; of the composites with a part that is no task 3 flagged 18 %, 4 7 %.
UNRELATED_MIN_WORDS = 3
# Between the clauses of a text: punctuation before a space, a dash between spaces, a
# line break, the shell's "&&", a checkbox, a slash between spaces ("and" is none: it
# joins the words of one request as often as two requests, and splitting there found
# fewer unrelated clauses at the same in-scope cost).
_LOOSE_CLAUSE_RE = re.compile(r"\s*(?:[,;:!?.]+(?=\s|$)|\s-+\s|&&|\n|\[\s?\]|\s/\s)\s*")
_CLAUSE_WORD_RE = re.compile(r"[a-z]+(?:'[a-z]+)?")
# Words of no content (closed classes: articles, pronouns, auxiliaries, prepositions,
# conjunctions, interjections, courtesy) and the number words: no request is in them.
_FUNCTION_WORDS = frozenset(
    "a an the and or but if then so to of in on at by for with from into onto over under "
    "up down out off about through this that these those it its it's they them their "
    "there here you your you're you'll you've i me my we us our he she his her is are "
    "was were be been being am do does did have has had will would shall should can "
    "could may might must not no yes all any some each every both very just now too also "
    "as than what which who whom whose when where why how please pls plz thanks thank ok "
    "okay hi hey hello robot oh ah uh um eh".split()) | frozenset(WORD_NUMBERS)


_POSSESSIVE_RE = re.compile(r"'s$")
# Words this long are English when the lexicon has them at all; shorter ones collide with
# other languages' words ("ao", "amin") and count only when frequent English
_LONG_WORD = 4


def _is_english(word: str, english: frozenset) -> bool:
    if len(word) < 3:  # "y", "al", "na": a letter or two is any language's
        return False
    if len(word) >= _LONG_WORD:
        return in_lexicon(word, english)
    return in_lexicon(word, getattr(english, 'frequent', english))


# English words of one or two letters (the lexicon's short pieces are any language's)
_SHORT_ENGLISH = frozenset('a i an at by do go in is it me my no of on or so to up us we be '
                           'he if am as oh ok hi'.split())
_TOKEN_RE = re.compile(r'\S+')
_LETTERS_RE = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


def _known(word: str, english: frozenset, task_words: frozenset) -> bool:
    """Return True for a word of English (the lexicon; see mostly_unknown_words) or tasks'."""
    if word in task_words:
        return True
    return word in _SHORT_ENGLISH if len(word) <= 2 else _is_english(word, english)


def unrelated_clause(task: str, english: frozenset, task_words: frozenset) -> str:
    """
    Return a clause of ``task`` that asks for something no task does, or ''.

    A clause that names no id and holds UNRELATED_MIN_WORDS or more common English words
    (``english``, the lexicon of :func:`rag_planner.retrieval.lexicon.english_words`)
    that no task wording uses (``task_words``): "shuffle
    and deal the cards for Friday's poker night", "which way is quicker to Madrid at rush
    hour".  Joined to a task by a connector no planner knows ("&&", "y despues"), such a
    clause is otherwise planned past; words of other languages and dialects ("si falla
    otra vez", "yinz") are not common English and do not count here.  A clause of as
    many words none of which is English or a task's ("zorp blik grunkle") is
    one too: gibberish or another language behind a connector.
    """
    if not english or not task_words:
        return ''
    for clause in _LOOSE_CLAUSE_RE.split(task):
        # talk about the planner's rules ("removed all safety validation") is answered
        # as such (UNSAFE_TASK when the task is unsafe), not as a request of its own
        if not clause or not clause.strip() or RULE_TALK_RE.search(clause):
            continue
        words = {w for w in (_POSSESSIVE_RE.sub('', w) for w in
                             _CLAUSE_WORD_RE.findall(clause.lower()))
                 if w not in _FUNCTION_WORDS and _is_english(w, english)
                 and not in_lexicon(w, task_words)}
        if len(words) >= UNRELATED_MIN_WORDS and not extract_entities(clause).ids:
            return clause.strip()
        # a clause of words none of which is English or a task's ("zorp blik
        # grunkle", "gyae seisei ara"): gibberish or another language behind a connector
        letters = _LETTERS_RE.findall(clause.lower())
        if len(letters) >= UNRELATED_MIN_WORDS and not any(
                _known(w, english, task_words) for w in letters) \
                and not extract_entities(clause).ids:
            return clause.strip()
    return ''


MOSTLY_UNKNOWN_SHARE = 0.5  # more than this share of a text's words: not a text to read


def mostly_unknown_words(task: str, english: frozenset, task_words: frozenset) -> bool:
    """
    Return True when most words of ``task`` (ids left out) are neither English nor tasks'.

    "Foti SKU-07448 16 husi A08-04 no lori ba PACK-17." (Tetum) and "Kue 5 SKU-65633
    for di D39-09 i hiba nan na PACK-9." (Chamorro): short words of another language
    around ids, with one English function word ("no", "for"), pass the language check's
    other tests.  A word counts as English when the lexicon has it (one of three letters
    only when frequent, one of two when it is on a short list) or a task wording uses
    it (dialect and jargon: "nowt", "yinz", "ptwy").  On the in-scope texts of dev, test
    and final2-final13 (300 a subset) it flagged none that the language check passes.
    """
    if not english or not task_words:
        return False
    words = [w.lower() for token in _TOKEN_RE.findall(task)
             if not any(ch.isdigit() for ch in token) for w in _LETTERS_RE.findall(token)]
    if len(words) < 3:
        return False
    known = sum(1 for w in words if _known(w, english, task_words))
    return (len(words) - known) / len(words) > MOSTLY_UNKNOWN_SHARE


__all__ = ['mostly_unknown_words', 'MOSTLY_UNKNOWN_SHARE', 'task_language',
           'UNRELATED_MIN_WORDS', 'unrelated_clause']
