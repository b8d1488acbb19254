"""
Copy candidates: ids and numbers found in the task text.

The generator never invents an id or a number: every id or number argument
of a generated plan is a pointer to one of the candidates found here (or a
constant of the output vocabulary such as the default ``WAIT 60``).  The
extractor is deliberately tolerant: ``a12-03`` -> ``A12-03``, ``tote 55`` ->
``TOTE-55``, ``sku 48213`` -> ``SKU-48213``, ``pack station four`` ->
``PACK-4``, ``three`` -> ``3``, ``2 minutes`` -> ``120`` (seconds).

Candidates with the same normalised value are merged (all their character
spans are kept) so that every value is one pointer target.
"""

from __future__ import annotations

from dataclasses import dataclass
import re
from typing import Optional

from rag_planner.domain.plan_grammar import id_kind

CAND_KINDS: tuple[str, ...] = (
    'bin', 'pack', 'dock', 'charger', 'staging', 'exception', 'tote', 'sku', 'num',
)
# Where a candidate comes from: the task text, the robot state, the config.
SOURCES: tuple[str, ...] = ('task', 'state_location', 'default_charger')

_UNITS = {
    'zero': 0, 'one': 1, 'two': 2, 'three': 3, 'four': 4, 'five': 5, 'six': 6, 'seven': 7,
    'eight': 8, 'nine': 9, 'ten': 10, 'eleven': 11, 'twelve': 12, 'thirteen': 13,
    'fourteen': 14, 'fifteen': 15, 'sixteen': 16, 'seventeen': 17, 'eighteen': 18,
    'nineteen': 19,
}
_TENS = {
    'twenty': 20, 'thirty': 30, 'forty': 40, 'fifty': 50, 'sixty': 60, 'seventy': 70,
    'eighty': 80, 'ninety': 90,
}
_SPECIAL = {'a dozen': 12, 'dozen': 12, 'half a dozen': 6, 'a couple of': 2, 'a pair of': 2}

_UNIT_W = '|'.join(sorted(_UNITS, key=len, reverse=True))
_TENS_W = '|'.join(sorted(_TENS, key=len, reverse=True))
_SPECIAL_W = '|'.join(sorted((re.escape(k) for k in _SPECIAL), key=len, reverse=True))
# A spelled-out number 0..999 ("three", "twenty-five", "two hundred and ten", "a dozen").
NUMBER_WORDS = (
    rf'(?:{_SPECIAL_W}|(?:(?:{_UNIT_W})\s+hundred(?:\s+and)?\s*)?'
    rf'(?:(?:{_TENS_W})(?:[\s-]+(?:{_UNIT_W}))?|{_UNIT_W})'
    rf'|(?:{_UNIT_W})\s+hundred)'
)
_NUM = rf'(?:\d{{1,5}}|{NUMBER_WORDS})'

_STATION_WORDS = {
    'PACK': r'pack(?:ing|[\s-]?out)?',
    'DOCK': r'(?:loading\s+|receiving\s+|inbound\s+)?dock',
    'CHARGER': r'charg(?:er|ing)',
    'STAGING': r'stag(?:ing|e)',
    'EXCEPTION': r'exceptions?',
}
_NOUN = (r'(?:\s*(?:station|stn|area|lane|zone|point|pad|bay|desk|dock|door|spot|table|'
         r'cell|bench|post))?')
_NUMMARK = r'(?:\s*(?:no\.?|number|num\.?|nr\.?|#|-|:)?\s*)'
_STATION_RE = re.compile(
    r'\b(?P<kind>' + '|'.join(f'(?P<{k}>{v})' for k, v in _STATION_WORDS.items()) + r')'
    + _NOUN + _NUMMARK + rf'(?P<n>\d{{1,2}}|{NUMBER_WORDS})\b', re.IGNORECASE)
_BIN_RE = re.compile(
    r'\b(?:bin\s*|location\s*|slot\s*)?(?P<z>[a-f])\s*-?\s*(?P<a>\d{1,2})'
    r'\s*[-/.]\s*(?P<b>\d{1,2})\b',
    re.IGNORECASE)
_TOTE_RE = re.compile(
    r'\b(?:tote|bin\s+tote|container)' + _NUMMARK + rf'(?P<n>\d{{1,4}}|{NUMBER_WORDS})\b',
    re.IGNORECASE)
_SKU_RE = re.compile(r'\b(?:sku|item|product|article)' + _NUMMARK + r'(?P<n>\d{5})\b',
                     re.IGNORECASE)
_BARE5_RE = re.compile(r'(?<![\w-])(?P<n>\d{5})(?![\w-])')
_DURATION_RE = re.compile(
    rf'(?P<n>\d{{1,3}}|{NUMBER_WORDS})\s*-?\s*(?P<u>seconds?|secs?|s|minutes?|mins?|m)\b',
    re.IGNORECASE)
_NUMBER_RE = re.compile(rf'(?<![\w-])(?P<n>\d{{1,3}}|{NUMBER_WORDS})(?![\w-])', re.IGNORECASE)
# Quantities glued to a multiplication sign: "10x", "x20", "3 x".
_GLUED_RE = re.compile(r'(?<![\w-])(?:(?P<a>\d{1,3})[x\u00d7]|[x\u00d7](?P<b>\d{1,3}))(?![\w-])',
                       re.IGNORECASE)


@dataclass(frozen=True)
class Candidate:
    """One copy target: a normalised value, its kind and where it was found."""

    value: str
    kind: str
    spans: tuple[tuple[int, int], ...] = ()
    source: str = 'task'


def words_to_int(text: str) -> Optional[int]:
    """Return the integer of a digit string or a spelled-out number, else None."""
    t = ' '.join(text.lower().replace('-', ' ').split())
    if t.isdigit():
        return int(t)
    if t in _SPECIAL:
        return _SPECIAL[t]
    total = 0
    cur = 0
    seen = False
    for w in t.split():
        if w == 'and':
            continue
        if w in _UNITS:
            cur += _UNITS[w]
        elif w in _TENS:
            cur += _TENS[w]
        elif w == 'hundred':
            cur = max(cur, 1) * 100
        else:
            return None
        seen = True
    total += cur
    return total if seen else None


def _overlaps(span: tuple[int, int], taken: list[tuple[int, int]]) -> bool:
    return any(span[0] < e and s < span[1] for s, e in taken)


def extract_candidates(task: str) -> list[Candidate]:
    """Find the id and number candidates of ``task``, merged by value, in order of appearance."""
    found: list[tuple[int, int, str, str]] = []  # start, end, value, kind
    taken: list[tuple[int, int]] = []

    def add(span: tuple[int, int], value: str, kind: str) -> None:
        found.append((span[0], span[1], value, kind))
        taken.append(span)

    for m in _BIN_RE.finditer(task):
        value = f'{m.group("z").upper()}{int(m.group("a")):02d}-{int(m.group("b")):02d}'
        if id_kind(value) == 'bin':
            add(m.span(), value, 'bin')
    for m in _STATION_RE.finditer(task):
        if _overlaps(m.span(), taken):
            continue
        kind = next(k for k in _STATION_WORDS if m.group(k))
        n = words_to_int(m.group('n'))
        value = f'{kind}-{n}' if n is not None else ''
        k = id_kind(value)
        if k is not None:
            add(m.span(), value, k)
    for m in _TOTE_RE.finditer(task):
        if _overlaps(m.span(), taken):
            continue
        n = words_to_int(m.group('n'))
        value = f'TOTE-{n}' if n is not None else ''
        if id_kind(value) == 'tote':
            add(m.span(), value, 'tote')
    for rx in (_SKU_RE, _BARE5_RE):
        for m in rx.finditer(task):
            if _overlaps(m.span(), taken):
                continue
            add(m.span(), f'SKU-{m.group("n")}', 'sku')
    for m in _DURATION_RE.finditer(task):
        if _overlaps(m.span(), taken):
            continue
        n = words_to_int(m.group('n'))
        if n is None:
            continue
        unit = m.group('u').lower()
        if unit.startswith('m'):
            n *= 60
        add(m.span(), str(n), 'num')
    for m in _GLUED_RE.finditer(task):
        if _overlaps(m.span(), taken):
            continue
        g = 'a' if m.group('a') else 'b'
        add(m.span(g), str(int(m.group(g))), 'num')
    for m in _NUMBER_RE.finditer(task):
        if _overlaps(m.span(), taken):
            continue
        n = words_to_int(m.group('n'))
        if n is not None:
            add(m.span(), str(n), 'num')
    found.sort()
    merged: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for s, e, value, kind in found:
        merged.setdefault((kind, value), []).append((s, e))
    return [Candidate(value=v, kind=k, spans=tuple(sp)) for (k, v), sp in merged.items()]


def extra_candidates(location: str, default_charger: str) -> list[Candidate]:
    """Return the candidates that come from the robot state and the config (no spans)."""
    out = []
    for value, source in ((location, 'state_location'), (default_charger, 'default_charger')):
        kind = id_kind(value) if value else None
        if kind is not None:
            out.append(Candidate(value=value.strip().upper(), kind=kind, source=source))
    return out
