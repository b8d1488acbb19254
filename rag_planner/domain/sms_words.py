"""
Words written without their vowels, as in a text message: "prk n STAGING-19", "scn fld".

People on handhelds drop a word's vowels after its first letter ("rscn pls, if fls agn
snd t EXCEPTION-18").  :func:`spell_out` writes such a word out when exactly one word
of a closed list -- the tasks' own words: their verbs, places and connectors -- has
those letters (its first letter, then its consonants: "agn" is "again"); a word of one
letter, a word the planner already reads ("pls", "qty", "cnt") and a skeleton two listed
words share ("pck": pick or pack) stay as they are.  Words whose skeleton reads as
another are not listed: "thr" is "three", "there" or "through", "fl" a floor or a fail.
"""

from __future__ import annotations

import re

# The tasks' words a text message may write without vowels.
_WORDS = (
    'park parked scan scanned rescan send from failed fails again today done your for '
    'move bring take get put place store stow away count charge charger wait report spill '
    'spilled blocked block stop tote bin dock door station staging exception exceptions desk '
    'area zone items units then next after that this with now back shelf label '
    'barcode robot battery low reserve forward').split()
_VOWELS = frozenset('aeiou')


def _skeleton(word: str) -> str:
    """Return ``word`` without the vowels after its first letter ("again" -> "agn")."""
    return word[0] + ''.join(ch for ch in word[1:] if ch not in _VOWELS)


def _expansions() -> dict:
    by_skeleton: dict = {}
    for word in _WORDS:
        by_skeleton.setdefault(_skeleton(word), set()).add(word)
    # the first letter stays even if a vowel ("again" -> "agn"); a skeleton that is the
    # word itself is none, one of a single letter too short
    return {sk: next(iter(ws)) for sk, ws in by_skeleton.items()
            if len(ws) == 1 and len(sk) >= 2 and sk not in ws}


_EXPANSIONS = _expansions()
_WORD_RE = re.compile(r'(?<![\w\'-])[A-Za-z]{2,}(?![\w\'-])')


def spell_out(text: str, known: frozenset = frozenset()) -> str:
    """Return ``text`` with its vowel-less task words written out; ``known`` stay."""
    def full(m: re.Match) -> str:
        token = m.group(0)
        word = _EXPANSIONS.get(token.lower())
        if word is None or token.lower() in known:
            return token
        if token.isupper():
            return word.upper()
        return word.capitalize() if token[0].isupper() else word
    return _WORD_RE.sub(full, text)


__all__ = ['spell_out']
