"""
Task families: entity extraction from task text and canonical plan builders.

:func:`extract_entities` finds ids and numbers in free text, tolerant of
case and of the ways operators write them (``a12-03``, ``tote 55``,
``sku 48213``, ``pack station four``, ``charging station 3``, ``zone A aisle
12 bay 3``, ``a dozen``); it masks them before looking for the quantity so a
"for robot 7" does not become a quantity.  It also records, for every
location, whether the text marks it as a source ("from", "out of") or a
destination ("to", "into", "store it at") so builders do not depend on word
order.

:func:`build_plan` returns the canonical plan of DESIGN.md for a family and
raises :class:`MissingEntity` when the entities do not fill it.  Builders do
not apply safety rules; the caller validates.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
import re
from typing import Optional

from rag_planner.plan_grammar import id_kind, Step
from rag_planner.robot_state import RobotState
from rag_planner.safety import SafetyConfig

FAMILIES: tuple[str, ...] = (
    'pick', 'replenish', 'putaway', 'transfer', 'count', 'charge', 'park', 'spill', 'blocked',
    'misscan', 'stop',
)
DEFAULT_SPILL_WAIT_S = 60
MAX_TASK_CHARS = 2000

EXAMPLES: dict = {
    'pick': ('Pick 3 units of SKU-48213 from A12-03 and bring them to PACK-4.',
             'NAVIGATE A12-03; SCAN A12-03; PICK SKU-48213 3; NAVIGATE PACK-4; PLACE PACK-4; '
             'REPORT DONE SKU-48213'),
    'replenish': ('Move 12 units of SKU-10077 from reserve B30-11 to forward bin B02-05.',
                  'NAVIGATE B30-11; SCAN B30-11; PICK SKU-10077 12; NAVIGATE B02-05; '
                  'SCAN B02-05; PLACE B02-05; REPORT DONE SKU-10077'),
    'putaway': ('Take TOTE-812 from DOCK-2 and store it at E07-14.',
                'NAVIGATE DOCK-2; SCAN TOTE-812; LOAD TOTE-812; NAVIGATE E07-14; '
                'UNLOAD E07-14; REPORT DONE TOTE-812'),
    'transfer': ('Bring TOTE-55 from PACK-1 to PACK-6.',
                 'NAVIGATE PACK-1; SCAN TOTE-55; LOAD TOTE-55; NAVIGATE PACK-6; UNLOAD PACK-6; '
                 'REPORT DONE TOTE-55'),
    'count': ('Count SKU-33120 at C15-02.',
              'NAVIGATE C15-02; SCAN C15-02; SCAN SKU-33120; REPORT COUNT SKU-33120'),
    'charge': ('Go charge at CHARGER-3.', 'NAVIGATE CHARGER-3; CHARGE CHARGER-3'),
    'park': ('Return to STAGING-2 and park.', 'NAVIGATE STAGING-2; HALT'),
    'spill': ('Spill at D09-07, report it and wait at STAGING-1.',
              'REPORT SPILL D09-07; NAVIGATE STAGING-1; WAIT 60'),
    'blocked': ('A11-04 is blocked, report it and go to STAGING-3.',
                'REPORT BLOCKED A11-04; NAVIGATE STAGING-3'),
    'misscan': ("The label at F20-01 won't scan, retry then escalate to EXCEPTION-1.",
                'NAVIGATE F20-01; SCAN F20-01; SCAN F20-01; NAVIGATE EXCEPTION-1; '
                'REPORT MISSCAN F20-01'),
    'stop': ('Stop now.', 'HALT'),
}
"""The DESIGN.md table: family -> (example task, canonical plan)."""


class MissingEntity(ValueError):
    """The task's entities do not fill the family's canonical plan."""


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
    ``locations`` (spill/blocked may still report them).
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

    def stations_of(self, kind: str) -> tuple[str, ...]:
        """Return the stations of one kind ('pack', 'dock', 'charger', ...)."""
        return tuple(s for s in self.stations if id_kind(s) == kind)

    def role_of(self, location: str) -> str:
        """Return the role of the first occurrence of ``location`` ('' if absent)."""
        for loc, role in zip(self.locations, self.roles):
            if loc == location:
                return role
        return ''


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
    r'(?!\s*(?:x\b|×|units?\b|items?\b|pieces?\b|pcs\b|of\b|each\b))', re.I)
_BIN_RE = re.compile(r'(?<![A-Za-z0-9-])([A-Za-z])-?(\d{1,2})\s?[-/]\s?(\d{1,2})(?![\d-])')
_BIN_SPACED_RE = re.compile(r'(?<![A-Za-z0-9-])([A-Fa-f])(\d{2})\s(\d{2})(?![\d-])')
_BIN_SHAPE_RE = re.compile(r'^[A-Za-z]\d{2}-\d{2}$')
_BIN_WORDS_RE = re.compile(
    r'\bzone\s+([a-z])\W{1,3}aisle\s+(\d{1,2})\W{1,3}(?:bay|slot|position|level)\s+(\d{1,2})\b',
    re.I)
_TOTE_RE = re.compile(r'\b(?:tote|container|crate|tub)s?' + _NUMSEP + r'(\d{1,5})(?![\d-])', re.I)
_SKU_RE = re.compile(
    r'\b(?:sku|item|product|part|article|material)s?' + _NUMSEP + r'(\d{4,6})(?![\d-])', re.I)
_BARE_SKU_RE = re.compile(r'(?<![\w-])(\d{5})(?![\w-])')
_ROBOT_RE = re.compile(r'(?<![A-Za-z0-9])(?:robots?|amr|agv|bot|vehicle|rover)\s*'
                       r'(?:no\.?|number|#|id)?\s*[-#:_]?\s*(\d{1,4})(?![0-9])', re.I)
_NOISE_NUM_RE = re.compile(
    r'(?<![\w-])(?:\d{1,2}(?::\d{2})?\s*(?:am|pm|a\.m\.|p\.m\.|o\'clock)'
    r'|\d{1,2}:\d{2}|\d{1,3}(?:\.\d+)?\s*(?:%|percent|pct)'
    r'|(?:order|line|wave|shift|priority|ticket|ref|batch|lane|floor|level|row|aisle|zone|'
    r'prio)\s*(?:no\.?|number|#)?\s*[-#]?\s*\d+|p\d)(?![\w-])'
    r'(?!\s*(?:x\b|×|units?\b|items?\b|pieces?\b|pcs\b|of\b|each\b))', re.I)
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

_SRC_WORDS = r'from|off|out\s+of|leaving|source|reserve|<-|←|<=|pickup'
_DST_WORDS = r'to|into|onto|toward|towards|for|->|=>|→|till|destination|forward'
_PREP_RE = re.compile(r'(?:(?<![\w])(' + _SRC_WORDS + r')(?![\w])|(?<![\w])(' + _DST_WORDS
                      + r')(?![\w])|(?<![\w])(at|in|by|near|@|on|inside)(?![\w]))', re.I)
_DST_VERBS = re.compile(
    r'\b(?:store|stow|put|place|drop|leave|unload|shelve|deliver|park|wait|stage|return|'
    r'set|deposit|stash|slot|go|head|hold|stay|escalate|end)\w*', re.I)
_SRC_VERBS = re.compile(r'\b(?:pick|grab|collect|get|fetch|retrieve|take|pull|load|lift|'
                        r'sitting|waiting|is|are|located|now|currently|presently|arrived|'
                        r'came|lying)\w*', re.I)


def _mask(text: str, start: int, end: int) -> str:
    return text[:start] + ' ' * (end - start) + text[end:]


def _role(gap: str) -> str:
    last = None
    for m in _PREP_RE.finditer(gap):
        last = m
    if last is None:
        return ''
    if last.group(1):
        return 'src'
    if last.group(2):
        return 'dst'
    before = gap[:last.start()]
    # the verb nearest to the 'at' decides: "store it at" vs "sitting at"
    dv = [m.start() for m in _DST_VERBS.finditer(before)]
    sv = [m.start() for m in _SRC_VERBS.finditer(before)]
    if dv and (not sv or dv[-1] > sv[-1]):
        return 'dst'
    if sv:
        return 'src'
    return ''


_NEG_VERB_RE = re.compile(
    r"(?:don'?t|do\s+not|never|must\s+not|mustn'?t)\s+(?:go|drive|enter|use|navigate|head|"
    r"visit|move|stop|pass)\b(?:\s+[\w-]+){0,3}\s*$", re.I)
_NEG_WORD_RE = re.compile(
    r"(?<![\w'])(?:avoid|avoiding|skip|except|bypass|not|instead\s+of|rather\s+than|"
    r"away\s+from)\s+(?:[\w-]+\s+){0,2}$", re.I)


def _negated(gap: str) -> bool:
    """Return True when the clause right before a location negates it ("not PACK-3")."""
    tail = re.split(r'[,;.!?()]', gap)[-1]
    return bool(_NEG_VERB_RE.search(tail) or _NEG_WORD_RE.search(tail))


def extract_entities(task: str) -> TaskEntities:
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
    for item in found:
        start, end, kind, eid = item
        if kind in ('bin', 'station'):
            gap = text[prev_end:start]
            prev_end = end
            if _negated(gap):
                excluded.append(eid)
                continue
            locations.append(eid)
            roles.append(_role(gap))
        keep.append(item)
    found = keep

    def _ids(kind: str) -> tuple:
        return tuple(e for _, _, k, e in found if k == kind)
    return TaskEntities(bins=_ids('bin'), stations=_ids('station'), totes=_ids('tote'),
                        skus=_ids('sku'), qty=qty, seconds=seconds, locations=tuple(locations),
                        roles=tuple(roles), invalid=tuple(invalid), numbers=tuple(numbers),
                        robot=robot, excluded=tuple(excluded))


# --------------------------------------------------------------------------- builders
def _first(seq, what: str, family: str):
    if not seq:
        raise MissingEntity(f'{family}: no {what} found in the task')
    return seq[0]


def _pick_src_dst(ents: TaskEntities, family: str, src_ok, dst_ok) -> tuple[str, str]:
    """Choose a source and a destination location using roles, then order."""
    cands = list(zip(ents.locations, ents.roles))
    srcs = [(loc, r) for loc, r in cands if src_ok(loc)]
    if not srcs:
        raise MissingEntity(f'{family}: no source location found in the task')
    src = next((loc for loc, r in srcs if r == 'src'), None)
    if src is None:
        src = next((loc for loc, r in srcs if r != 'dst'), None)
    dsts = [(loc, r) for loc, r in cands if dst_ok(loc)]
    if src is None:
        # every candidate is marked as destination: take the first one that is
        # not the only possible destination
        src = srcs[0][0]
    dst_c = [(loc, r) for loc, r in dsts if loc != src]
    dst = next((loc for loc, r in dst_c if r == 'dst'), None)
    if dst is None:
        dst = next((loc for loc, r in dst_c if r != 'src'), None)
    if dst is None and dst_c:
        dst = dst_c[0][0]
    if dst is None:
        raise MissingEntity(f'{family}: no destination location found in the task')
    return src, dst


def _qty(ents: TaskEntities, family: str) -> int:
    if ents.qty is None:
        raise MissingEntity(f'{family}: no quantity found in the task')
    if not 0 <= ents.qty <= 999:
        raise MissingEntity(f'{family}: quantity {ents.qty} is not a usable number')
    return ents.qty


def _is_bin(loc: str) -> bool:
    return id_kind(loc) == 'bin'


def _any(loc: str) -> bool:
    return True


def _event_subject_and_dest(ents: TaskEntities, family: str) -> tuple[str, str]:
    """Return (subject location, destination) for spill/blocked tasks."""
    cands = list(zip(ents.locations, ents.roles))
    dest = None
    staging = [loc for loc, r in cands if id_kind(loc) == 'staging']
    for loc, r in cands:
        if id_kind(loc) == 'staging' and r == 'dst':
            dest = loc
            break
    if dest is None and staging:
        dest = staging[-1]
    if dest is None:
        dst = [loc for loc, r in cands if r == 'dst']
        if dst and len(cands) > 1:
            dest = dst[-1]
        elif len(cands) > 1:
            dest = cands[-1][0]
    if dest is None:
        raise MissingEntity(f'{family}: no location to go to (e.g. a STAGING station) found')
    subj = next((loc for loc, r in cands if loc != dest), None)
    if subj is None and ents.excluded:
        subj = ents.excluded[0]  # "avoid A11-04, it is blocked; go to STAGING-3"
    if subj is None:
        raise MissingEntity(f'{family}: no {family} location found in the task')
    return subj, dest


def build_plan(family: str, entities: TaskEntities, state: Optional[RobotState] = None,
               cfg: Optional[SafetyConfig] = None) -> list[Step]:
    """
    Return the canonical DESIGN.md plan of ``family`` filled with ``entities``.

    ``state`` is accepted for interface stability (builders do not depend on
    it); ``cfg.default_charger`` is used by the charge family when the task
    names no charger.  Raises :class:`MissingEntity` when an id or number the
    plan needs is missing and ``ValueError`` for an unknown family.
    """
    cfg = cfg if cfg is not None else SafetyConfig()
    e = entities
    if family == 'pick':
        sku = _first(e.skus, 'SKU', family)
        qty = _qty(e, family)
        src, dst = _pick_src_dst(e, family, _is_bin, _any)
        return [Step('NAVIGATE', (src,)), Step('SCAN', (src,)), Step('PICK', (sku, str(qty))),
                Step('NAVIGATE', (dst,)), Step('PLACE', (dst,)), Step('REPORT', ('DONE', sku))]
    if family == 'replenish':
        sku = _first(e.skus, 'SKU', family)
        qty = _qty(e, family)
        src, dst = _pick_src_dst(e, family, _is_bin, _is_bin)
        return [Step('NAVIGATE', (src,)), Step('SCAN', (src,)), Step('PICK', (sku, str(qty))),
                Step('NAVIGATE', (dst,)), Step('SCAN', (dst,)), Step('PLACE', (dst,)),
                Step('REPORT', ('DONE', sku))]
    if family in ('putaway', 'transfer'):
        tote = _first(e.totes, 'tote', family)
        src, dst = _pick_src_dst(e, family, _any, _any)
        return [Step('NAVIGATE', (src,)), Step('SCAN', (tote,)), Step('LOAD', (tote,)),
                Step('NAVIGATE', (dst,)), Step('UNLOAD', (dst,)), Step('REPORT', ('DONE', tote))]
    if family == 'count':
        sku = _first(e.skus, 'SKU', family)
        b = _first(e.bins, 'bin', family)
        return [Step('NAVIGATE', (b,)), Step('SCAN', (b,)), Step('SCAN', (sku,)),
                Step('REPORT', ('COUNT', sku))]
    if family == 'charge':
        chargers = e.stations_of('charger')
        c = chargers[0] if chargers else cfg.default_charger
        return [Step('NAVIGATE', (c,)), Step('CHARGE', (c,))]
    if family == 'park':
        staging = e.stations_of('staging')
        if staging:
            dst = staging[0]
        else:
            dst = _first(e.locations, 'parking location (e.g. STAGING-2)', family)
        return [Step('NAVIGATE', (dst,)), Step('HALT')]
    if family == 'spill':
        subj, dest = _event_subject_and_dest(e, family)
        secs = e.seconds if e.seconds is not None else DEFAULT_SPILL_WAIT_S
        if not 1 <= secs <= 600:
            raise MissingEntity(f'spill: wait of {secs} s outside 1..600')
        return [Step('REPORT', ('SPILL', subj)), Step('NAVIGATE', (dest,)),
                Step('WAIT', (str(secs),))]
    if family == 'blocked':
        subj, dest = _event_subject_and_dest(e, family)
        return [Step('REPORT', ('BLOCKED', subj)), Step('NAVIGATE', (dest,))]
    if family == 'misscan':
        b = _first(e.bins, 'bin', family)
        exc = _first(e.stations_of('exception'), 'EXCEPTION station', family)
        return [Step('NAVIGATE', (b,)), Step('SCAN', (b,)), Step('SCAN', (b,)),
                Step('NAVIGATE', (exc,)), Step('REPORT', ('MISSCAN', b))]
    if family == 'stop':
        return [Step('HALT')]
    raise ValueError(f'unknown task family {family!r} (known: {", ".join(FAMILIES)})')


def entities_for(**kw) -> TaskEntities:
    """
    Build TaskEntities from keyword lists, deriving ``locations`` when not given.

    Handy for generators and tests: ``entities_for(bins=('A12-03',),
    stations=('PACK-4',), skus=('SKU-48213',), qty=3)`` gives locations in the
    order bins then stations with roles src, dst.
    """
    e = TaskEntities(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in kw.items()})
    if not e.locations:
        locs = e.bins + e.stations
        roles = tuple('src' if i == 0 else 'dst' for i in range(len(locs)))
        e = replace(e, locations=locs, roles=roles)
    return e
