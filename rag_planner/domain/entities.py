"""
Entity extraction: the ids and numbers of a task text, and what role each location plays.

:func:`extract_entities` finds ids and numbers in free text, tolerant of
case and of the ways operators write them (``a12-03``, ``tote 55``,
``sku 48213``, ``pack station four``, ``charging station 3``, ``zone A aisle
12 bay 3``, ``a dozen``); it masks them before looking for the quantity so a
"for robot 7" does not become a quantity.  It also records, for every
location, whether the text marks it as a source ("from", "out of") or a
destination ("to", "into", "store it at") so plan builders do not depend on
word order.  Pure functions, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
import functools
import re
from typing import Optional

from rag_planner.domain.location_roles import location_role, negated
from rag_planner.domain.plan_grammar import id_kind, is_location
from rag_planner.domain.request import MAX_TASK_CHARS
from rag_planner.domain.robot_state import normalize_location
from rag_planner.domain.safety import Grounding, SafetyConfig, SPILL_WAIT_S


@dataclass(frozen=True)
class TaskEntities:
    """
    Ids and numbers found in a task, each tuple in order of appearance.

    ``locations`` holds bins and stations together in order of appearance and
    ``roles`` is parallel to it: 'src' (marked as a source: from, out of),
    'dst' (marked as a destination: to, into, store it at) or '' (unmarked).
    ``invalid`` lists id-like tokens that are out of range (``G12-03``,
    ``PACK-25``, ``TOTE-0``); ``numbers`` the free numbers left after ids,
    robot numbers, durations and the quantity were taken.  ``excluded``
    holds locations the text negates ("don't go to PACK-3", "avoid A11-04",
    "not PACK-2"); they are left out of ``bins``, ``stations`` and
    ``locations`` (spill/blocked may still report them).  ``decimals`` holds numbers
    with a fraction part (``3.5``), which are never used as a count or a duration.
    """

    bins: tuple[str, ...] = ()
    stations: tuple[str, ...] = ()
    totes: tuple[str, ...] = ()
    skus: tuple[str, ...] = ()
    qty: Optional[int] = None
    seconds: Optional[int] = None
    locations: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    invalid: tuple[str, ...] = ()
    numbers: tuple[int, ...] = ()
    robot: str = ''
    excluded: tuple[str, ...] = ()
    decimals: tuple[str, ...] = ()

    @property
    def ids(self) -> tuple[str, ...]:
        """Return every well-formed id of the task, negated locations included."""
        return self.bins + self.stations + self.totes + self.skus + self.excluded

    @property
    def named(self) -> frozenset:
        """Return the ids the task names and does not negate (what a plan must use)."""
        return frozenset(self.ids) - frozenset(self.excluded)

    def stations_of(self, kind: str) -> tuple[str, ...]:
        """Return the stations of one kind ('pack', 'dock', 'charger', ...)."""
        return tuple(s for s in self.stations if id_kind(s) == kind)


# --------------------------------------------------------------------------- numbers
_UNITS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine',
          'ten', 'eleven', 'twelve', 'thirteen', 'fourteen', 'fifteen', 'sixteen',
          'seventeen', 'eighteen', 'nineteen']
_TENS = ['', '', 'twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety']
WORD_NUMBERS: dict = {w: i for i, w in enumerate(_UNITS)}
WORD_NUMBERS.update({w: 10 * i for i, w in enumerate(_TENS) if w})
_NUM_WORD_RE = re.compile(
    r'\b(?:(' + '|'.join(_TENS[2:]) + r')(?:[\s-]+(' + '|'.join(_UNITS[1:10]) + r'))?'
    r'|(' + '|'.join(sorted(_UNITS, key=len, reverse=True)) + r'))\b', re.I)
_PHRASE_NUMBERS = (
    (re.compile(r'\bhalf\s+a\s+dozen\b', re.I), '6'),
    (re.compile(r'\b(?:a|one)\s+dozen\b', re.I), '12'),
    (re.compile(r'\bdozen\b', re.I), '12'),
    (re.compile(r'\ba\s+(?:couple|pair)\s+of\b', re.I), '2 of'),
    (re.compile(r'\bhalf\s+a\s+minute\b', re.I), '30 seconds'),
    (re.compile(r'\ba\s+minute\b', re.I), '1 minute'),
)


_NOT_A_NUMBER_RE = re.compile(
    r'\b(?:quick|this|that|the|next|last|new|other|another|which|any|each|every|no|urgent|'
    r'easy|big|important|same|right|wrong|first|only)\s+one\b', re.I)


@functools.lru_cache(maxsize=4096)
def words_to_digits(text: str) -> str:
    """
    Replace spelled-out numbers (zero..ninety-nine, "a dozen") by digits.

    "one" used as a pronoun ("quick one:", "this one") is left alone.
    """
    for rx, rep in _PHRASE_NUMBERS:
        text = rx.sub(rep, text)

    keep = {m.end() - 3 for m in _NOT_A_NUMBER_RE.finditer(text)}

    def _sub(m: re.Match) -> str:
        if m.start() in keep:
            return m.group(0)
        if m.group(3):
            return str(WORD_NUMBERS[m.group(3).lower()])
        n = WORD_NUMBERS[m.group(1).lower()]
        if m.group(2):
            n += WORD_NUMBERS[m.group(2).lower()]
        return str(n)
    return _NUM_WORD_RE.sub(_sub, text)


# --------------------------------------------------------------------------- id patterns
_NUMSEP = r'\s*(?:no\.?|nr\.?|number|num\.?|#)?\s*[-#:.]?\s*'
_STATION_PATTERNS = (
    ('CHARGER', r'(?:re)?charg(?:er|ing)(?:[\s-]*(?:station|stn|dock|point|pad|bay|spot|post))?'
                r'|charge[\s-]*(?:station|point|pad|spot|bay)'),
    ('EXCEPTION', r'exceptions?(?:[\s-]*(?:station|stn|desk|area|lane|bay|table|zone))?'
                  r'|problem[\s-]*solv(?:e|ing)(?:[\s-]*(?:station|desk|area))?'),
    ('STAGING', r'stag(?:ing|e)(?:[\s-]*(?:area|zone|lane|point|spot|bay|station))?'),
    ('PACK', r'pack(?:ing|out|-out)?(?:[\s-]*(?:station|stn|desk|bench|table|area|cell|line))?'
             r'|packer'),
    ('DOCK', r'(?:loading[\s-]*|receiving[\s-]*|inbound[\s-]*|outbound[\s-]*)?'
             r'dock(?:[\s-]*(?:door|station|bay|gate))?'
             r'|(?:receiving|inbound)[\s-]*(?:door|bay)'),
)
_STATION_RE = re.compile(
    r'(?<![A-Za-z0-9])(?:' + '|'.join(f'(?P<{k}>{p})' for k, p in _STATION_PATTERNS) + r')'
    + _NUMSEP + r'(?P<n>\d{1,3})(?![\d-])'
    # "order 5 of SKU-1" is a count; "line 2 of the order: six units" is not
    r'(?!\s*(?:x\b|×|units?\b|items?\b|pieces?\b|pcs\b|of\b(?!\s+(?:the|this|that)\b)|'
    r'each\b))', re.I)
_BIN_RE = re.compile(
    r'(?<![A-Za-z0-9-])([A-Za-z])-?(\d{1,2})\s?[-/.]\s?(\d{1,2})(?![\d-]|\.\d)')
_BIN_SPACED_RE = re.compile(r'(?<![A-Za-z0-9-])([A-Fa-f])(\d{2})\s(\d{2})(?![\d-])')
_BIN_SHAPE_RE = re.compile(r'^[A-Za-z]\d{2}-\d{2}$')
_BIN_WORDS_RE = re.compile(
    r'\bzone\s+([a-z])\W{1,3}aisle\s+(\d{1,2})\W{1,3}(?:bay|slot|position|level)\s+(\d{1,2})\b',
    re.I)
_TOTE_RE = re.compile(r'\b(?:tote|container|crate|tub)s?' + _NUMSEP + r'(\d{1,5})(?![\d-])', re.I)
_SKU_RE = re.compile(
    r'\b(?:sku|item|product|part|article|material)s?' + _NUMSEP + r'(\d{4,6})(?![\d-])', re.I)
# (not an amount of something else: "Wire 47292 dollars", "Reorder 34696 shipping labels")
_BARE_SKU_RE = re.compile(r'(?<![\w-])(\d{5})(?![\w-])(?!\s+(?:dollars|euros|pounds|usd|eur|gbp|'
                          r'bucks|people|persons|labels|shipping|pages|copies|sheets|miles|km|'
                          r'kilometres|kilometers|metres|meters|kg|calories|views|followers)\b)',
                          re.I)
_ROBOT_RE = re.compile(r'(?<![A-Za-z0-9])(?:robots?|amr|agv|bot|vehicle|rover)\s*'
                       r'(?:no\.?|number|#|id)?\s*[-#:_]?\s*(\d{1,4})(?![0-9])', re.I)
_NOISE_NUM_RE = re.compile(
    r'(?<![\w-])(?:\d{1,2}(?::\d{2})?\s*(?:am|pm|a\.m\.|p\.m\.|o\'clock)'
    r'|\d{1,2}:\d{2}|\d{1,3}(?:\.\d+)?\s*(?:%|percent|pct)'
    r'|(?:order|line|wave|shift|priority|ticket|ref|batch|lane|floor|level|row|aisle|zone|'
    r'prio)\s*(?:no\.?|number|#)?\s*[-#]?\s*\d+|p\d)(?![\w-])'
    # "order 5 of SKU-1" is a count; "line 2 of the order: six units" is not
    r'(?!\s*(?:x\b|×|units?\b|items?\b|pieces?\b|pcs\b|of\b(?!\s+(?:the|this|that)\b)|'
    r'each\b))', re.I)
_DURATION_RE = re.compile(
    r'(?<![\w-])(\d{1,5})\s*(s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?)\b', re.I)
_QTY_PATTERNS = (
    re.compile(r'(?<![\w-])(\d{1,6})\s*(?:x|×)(?![\w])', re.I),
    re.compile(r'(?<![\w-])(?:x|×)\s*(\d{1,6})(?![\w-])', re.I),
    re.compile(r'\b(?:qty|quantity|count|amount|units?|pcs|pieces?)\s*[:=]?\s*(?:of\s+)?'
               r'(\d{1,6})(?![\w-])', re.I),
    re.compile(r'(?<![\w-])(\d{1,6})\s*(?:units?|items?|pieces?|pcs|each|eaches|ea|cases?|'
               r'boxes|box|packs?|packets?|pc|qty|off|of)\b', re.I),
)
_ONE_RE = re.compile(r'\b(?:a|an|a\s+single|single)\s+(?:unit|item|piece|each|case|box|pc)\b',
                     re.I)
_FREE_NUM_RE = re.compile(r'(?<![\w-])(\d{1,6})(?![\w-])')
# A number with a fraction ("3.5", "2,5"): never a count or a duration, and never split
# into two numbers (DESIGN.md: an argument that does not parse cleanly is refused).
_PERCENT_AFTER_RE = re.compile(r'\s*(?:%|percent|pct)', re.I)
_DECIMAL_RE = re.compile(r'(?<![\d.,-])(\d+[.,]\d+)(?![\d-]|[.,]\d)')


def _mask(text: str, start: int, end: int) -> str:
    return text[:start] + ' ' * (end - start) + text[end:]


def extract_entities(task: str) -> TaskEntities:
    """
    Find ids, quantity, duration and location roles in a task text (memoized).

    Pure and asked for again and again (every stage, every part of a composite task):
    answers are remembered for the last texts.  See :func:`_extract_entities`.
    """
    if not isinstance(task, str):
        return TaskEntities()
    return _extract_cached(task)


@functools.lru_cache(maxsize=4096)
def _extract_cached(task: str) -> TaskEntities:
    return _extract_entities(task)


def _extract_entities(task: str) -> TaskEntities:
    """
    Find ids, quantity, duration and location roles in a task text.

    Never raises on garbage: a non-string or empty task gives empty entities;
    text beyond ``MAX_TASK_CHARS`` characters is ignored.
    """
    if not isinstance(task, str) or not task.strip():
        return TaskEntities()
    text = task[:MAX_TASK_CHARS]
    text = re.sub(r'[\u2010-\u2015\u2212]', '-', text)
    text = words_to_digits(text)
    found: list = []  # (start, end, kind, id)
    invalid: list = []
    work = text

    robot = ''
    for m in _ROBOT_RE.finditer(work):
        robot = robot or m.group(1)
        work = _mask(work, m.start(), m.end())

    for m in _STATION_RE.finditer(work):
        kind = next(k for k, _ in _STATION_PATTERNS if m.group(k))
        n = int(m.group('n'))
        sid = f'{kind}-{n}'
        if id_kind(sid) is None:
            invalid.append(sid)
        else:
            found.append((m.start(), m.end(), 'station', sid))
        work = _mask(work, m.start(), m.end())

    for m in _TOTE_RE.finditer(work):
        n = int(m.group(1))
        tid = f'TOTE-{n}'
        if id_kind(tid) is None:
            invalid.append(tid)
        else:
            found.append((m.start(), m.end(), 'tote', tid))
        work = _mask(work, m.start(), m.end())

    for m in _SKU_RE.finditer(work):
        sid = f'SKU-{m.group(1)}'
        if id_kind(sid) is None:
            invalid.append(sid)
        else:
            found.append((m.start(), m.end(), 'sku', sid))
        work = _mask(work, m.start(), m.end())

    for rx in (_BIN_WORDS_RE, _BIN_RE, _BIN_SPACED_RE):
        for m in rx.finditer(work):
            zone, aisle, bay = m.group(1).upper(), int(m.group(2)), int(m.group(3))
            bid = f'{zone}{aisle:02d}-{bay:02d}'
            if id_kind(bid) == 'bin':
                found.append((m.start(), m.end(), 'bin', bid))
            elif rx is _BIN_WORDS_RE or _BIN_SHAPE_RE.match(m.group(0)):
                invalid.append(bid)
            else:
                continue
            work = _mask(work, m.start(), m.end())

    if not any(k == 'sku' for _, _, k, _ in found):
        for m in _BARE_SKU_RE.finditer(work):
            found.append((m.start(), m.end(), 'sku', f'SKU-{m.group(1)}'))
            work = _mask(work, m.start(), m.end())

    # Decimals before the noise: "shift 10.5 of them" is no work shift 10 and a count 5.
    decimals = []
    for m in _DECIMAL_RE.finditer(work):
        if _PERCENT_AFTER_RE.match(work, m.end()):
            continue  # "battery at 12.5 %": noise below
        decimals.append(m.group(1))
        work = _mask(work, m.start(), m.end())

    for m in _NOISE_NUM_RE.finditer(work):
        work = _mask(work, m.start(), m.end())

    seconds = None
    for m in _DURATION_RE.finditer(work):
        unit = m.group(2).lower()
        n = int(m.group(1))
        if unit.startswith('h'):
            n *= 3600
        elif unit.startswith('m'):
            n *= 60
        if seconds is None:
            seconds = n
        work = _mask(work, m.start(), m.end())

    qty = None
    for rx in _QTY_PATTERNS:
        m = rx.search(work)
        if m:
            qty = int(m.group(1))
            work = _mask(work, m.start(1), m.end(1))
            break
    if qty is None and _ONE_RE.search(work):
        qty = 1
    numbers = [int(m.group(1)) for m in _FREE_NUM_RE.finditer(work)]
    if qty is None and numbers:
        qty = numbers.pop(0)

    found.sort()
    locations, roles, excluded, keep = [], [], [], []
    prev_end = 0
    for i, item in enumerate(found):
        start, end, kind, eid = item
        if kind in ('bin', 'station'):
            gap = text[prev_end:start]
            prev_end = end
            if negated(gap):
                excluded.append(eid)
                continue
            locations.append(eid)
            roles.append(location_role(
                gap, text[end:found[i + 1][0] if i + 1 < len(found) else None]))
        keep.append(item)
    found = keep

    def _ids(kind: str) -> tuple:
        return tuple(e for _, _, k, e in found if k == kind)
    return TaskEntities(bins=_ids('bin'), stations=_ids('station'), totes=_ids('tote'),
                        skus=_ids('sku'), qty=qty, seconds=seconds, locations=tuple(locations),
                        roles=tuple(roles), invalid=tuple(invalid), numbers=tuple(numbers),
                        robot=robot, excluded=tuple(excluded), decimals=tuple(decimals))


# The task refers to where the robot is: the state's location grounds an id.
_HERE_RE = re.compile(r"(?<![\w])(?:here|where\s+you\s*(?:are|'re)|(?:your\s+)?current\s+"
                      r"(?:location|position|spot|place|station)|this\s+(?:spot|location|"
                      r"place|station|charger))(?![\w])", re.I)


def grounding_of(task: str, state=None, cfg=None) -> Grounding:
    """
    Return what a plan for ``task`` may name (safety rule 7).

    The ids and whole numbers of the task text, the robot's location when the
    task refers to it ("charge here"; otherwise a plan that names where the robot
    stands is a guess), the configured default charger and the spill plan's wait
    (for a ``WAIT`` only: a ``PICK`` quantity is always one of the task's numbers).
    """
    e = extract_entities(task)
    ids = set(e.ids)
    numbers = {str(n) for n in (e.qty, e.seconds, *e.numbers) if n is not None}
    quantities = frozenset(numbers)
    numbers.add(str(SPILL_WAIT_S))
    location = normalize_location(getattr(state, 'location', ''))
    if is_location(location) and _HERE_RE.search(task or ''):
        ids.add(location)
    ids.add(getattr(cfg, 'default_charger', None) or SafetyConfig().default_charger)
    return Grounding(frozenset(ids), frozenset(numbers), quantities)
