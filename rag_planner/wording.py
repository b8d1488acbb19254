"""
Wording generator: many ways operators phrase the eleven task families.

Every :class:`Template` has a stable id (``'pick/07'``) so evaluation can
hold out whole templates (:func:`split_templates`) and measure how a planner
generalises to wordings it never saw.  :func:`generate_examples` fills
templates with random valid ids and renders them with variation: id spellings
(``PACK-4`` / ``pack station 4`` / ``packing station four``), spelled-out
quantities, fillers ("please", "asap", "for robot 7"), casing and
punctuation.  Plans come from :func:`rag_planner.task_families.build_plan`
on entities chosen by the generator (never parsed back from the text), so
they are correct by construction and valid under the default safety config
for a robot with a full battery and no blocked locations.

Templates flagged ``hard`` are deliberately awkward for a keyword parser
(unusual order, no verbs, arrows pointing backwards); the rule planner is
expected to miss some of them.
"""

from __future__ import annotations

from dataclasses import dataclass
import random
from typing import Iterable, Optional

from rag_planner.plan_grammar import Step
from rag_planner.safety import SafetyConfig
from rag_planner.task_families import build_plan, FAMILIES, TaskEntities, WORD_NUMBERS

_NUM_WORDS = {v: k for k, v in WORD_NUMBERS.items()}


@dataclass(frozen=True)
class Template:
    """One wording pattern of a family; ``{slot}`` fields are filled per example."""

    id: str
    family: str
    text: str
    hard: bool = False


@dataclass(frozen=True)
class Example:
    """A generated task text with its family, template id, canonical plan and entities."""

    family: str
    template_id: str
    task: str
    plan: tuple[Step, ...]
    entities: TaskEntities


# Slots: {qty} {sku} {bin} {dst} {src} {tote} {charger} {staging} {exc} {secs}
_RAW: dict = {
    'pick': [
        'Pick {qty} units of {sku} from {bin} and bring them to {dst}.',
        'Grab {qty} {sku} from bin {bin}, deliver to {dst}.',
        '{dst} needs {qty} of {sku} from {bin}.',
        'Please fetch {qty}x {sku} at {bin} for {dst}',
        '{qty} units of {sku} are to be picked from {bin} and dropped off at {dst}.',
        'Order for {dst}: {sku}, qty {qty}, location {bin}.',
        'Go to {bin}, pick {qty} pieces of {sku}, then take them to {dst}.',
        'Collect {qty} each of {sku} out of {bin} -> {dst}',
        'Could you retrieve {qty} items ({sku}) from {bin} and put them at {dst}?',
        'pick {sku} x{qty} {bin} to {dst}',
        'I need {qty} {sku} brought over to {dst} from {bin}.',
        '!To {dst}: {qty} of {sku}, bin {bin}.',
        '!{bin} has {sku}; {qty} of those should end up at {dst}.',
        '!{sku} / {qty} / {bin} / {dst}',
        '!Send {qty} of {sku} over to {dst}; they are in {bin}.',
        '!Line 2 of the order: {qty} units of {sku} from {bin} to {dst}.',
    ],
    'replenish': [
        'Move {qty} units of {sku} from reserve {src} to forward bin {dst}.',
        'Replenish {dst} with {qty} {sku} from {src}.',
        'Restock bin {dst}: take {qty} of {sku} out of {src}.',
        'Refill {dst} using {qty} units of {sku} from reserve location {src}.',
        'Top off forward location {dst} with {qty} x {sku} pulled from {src}',
        '{qty} units of {sku} should be moved from {src} into {dst}.',
        'Pick {qty} {sku} at {src} and place them in {dst}.',
        'Transfer {qty} pieces of {sku} from bin {src} to bin {dst}.',
        '{dst} is running low on {sku}; bring {qty} from {src}.',
        'replenishment: {sku} qty {qty} {src} -> {dst}',
        'Please restock {qty} {sku} into {dst} from reserve {src}.',
        '!{dst} <- {src}, {qty} of {sku}',
        '!Forward bin {dst} needs {qty} more {sku}. Reserve stock sits in {src}.',
        '!Using stock in {src}, fill {dst} up with {qty} of {sku}.',
        '!Bin {dst} is empty; {src} has spare {sku}, {qty} should do.',
        '!{dst} gets {qty} of {sku}; {src} gives them.',
    ],
    'putaway': [
        'Take {tote} from {src} and store it at {dst}.',
        'Put away {tote} from {src} into bin {dst}.',
        'Store {tote} (now at {src}) in {dst}.',
        '{tote} arrived at {src}; put it away at {dst}.',
        'Putaway: {tote} {src} -> {dst}',
        'Pick up {tote} at {src} and stow it in {dst}.',
        'Move inbound {tote} from {src} to storage location {dst}.',
        '{tote} should be stored in {dst}. It is waiting at {src}.',
        'Shelve {tote} at {dst}, collecting it from {src} first.',
        'Could you load {tote} at {src} and unload it at {dst}?',
        'Bring {tote} from {src} to {dst} and leave it there.',
        '!{dst} is where {tote} goes; grab it off {src}.',
        '!Inbound at {src}: {tote}. Destination {dst}.',
        '!{dst} gets {tote}, currently parked at {src}.',
    ],
    'transfer': [
        'Bring {tote} from {src} to {dst}.',
        'Transfer {tote} from {src} over to {dst}.',
        'Move {tote} from {src} to {dst}, please.',
        'Take {tote} at {src} to {dst}.',
        '{tote} needs to go from {src} to {dst}.',
        'Shuttle {tote}: {src} -> {dst}',
        'Relocate {tote} currently at {src} to {dst}.',
        "Carry {tote} over to {dst}; it's sitting at {src}.",
        '{tote} is to be moved from {src} to {dst}.',
        'Can you pick up {tote} at {src} and drop it at {dst}?',
        'Deliver {tote} to {dst}; pick it up at {src}.',
        '!{dst} wants {tote}, which is at {src}.',
        '!{src} has {tote} ready; destination {dst}.',
        '!The {tote} waiting for pickup: {src}. It belongs at {dst}.',
        '!{tote}: {dst} needs it, {src} has it.',
    ],
    'count': [
        'Count {sku} at {bin}.',
        'How many {sku} are in bin {bin}?',
        'Do a cycle count of {sku} in {bin}.',
        'Please count the units of {sku} at location {bin}.',
        'Inventory check: {sku} at {bin}',
        'Go to {bin} and count {sku}.',
        'Audit stock of {sku} in {bin}.',
        '{bin}: count {sku}, report back.',
        'Verify the quantity of {sku} stored at {bin}.',
        'Tally {sku} at {bin} please',
        'Cycle-count bin {bin} for {sku}.',
        '!{bin} - how much {sku} is left there?',
        '!Check stock for {sku}, location {bin}.',
        "!What's the on-hand of {sku} in {bin}?",
        '!Is the system right that {bin} holds 12 of {sku}?',
    ],
    'charge': [
        'Go charge at {charger}.',
        'Head to {charger} and recharge.',
        'Battery is getting low, go to {charger}.',
        'Charge at {charger} now.',
        'Please dock at {charger} to charge.',
        'Go recharge.',
        'Time to top up your battery at {charger}.',
        'Return to {charger} for charging.',
        'You need charging: {charger}.',
        'Plug in at {charger}',
        'Go and charge your battery.',
        'Low battery - head to {charger}.',
        '!{charger}, right away.',
        '!Juice up at {charger} before the next wave.',
    ],
    'park': [
        'Return to {staging} and park.',
        'Park at {staging}.',
        'Go park in {staging}.',
        'Head back to {staging} and stay there.',
        'End of shift: park at {staging}.',
        'Please go to {staging} and wait there.',
        'Go idle at {staging}.',
        'Standby at {staging}.',
        'Drive to {staging} and stop.',
        'Go home to {staging}.',
        "You're done for the day, park in {staging}.",
        '!Move to {staging}, park and halt.',
        '!{staging} for the night.',
    ],
    'spill': [
        'Spill at {bin}, report it and wait at {staging}.',
        'There is a spill near {bin}; report it and go wait at {staging}.',
        'Liquid on the floor at {bin}! Report and wait in {staging}.',
        'Report a spill in {bin}, then wait at {staging}.',
        'Something leaked at {bin}. Flag it and stand by at {staging}.',
        'Wet floor at {bin}, report, then hold at {staging}.',
        'Spillage reported around {bin}, move to {staging} and wait.',
        'Spill at {bin}: report it, wait at {staging} for {secs}.',
        'Please report the spill at {bin} and wait {secs} at {staging}.',
        '{bin} has a puddle; report and park at {staging} for a bit.',
        '!Report: spilled product {bin}. Go to {staging}, wait.',
        '!Broken glass by {bin}, go to {staging} and wait until it is cleaned up.',
        '!{bin} is wet; report it, then wait at {staging}.',
    ],
    'blocked': [
        '{bin} is blocked, report it and go to {staging}.',
        'Aisle at {bin} is obstructed; report and head to {staging}.',
        'Report {bin} as blocked and move to {staging}.',
        "Can't get through at {bin}. Report it, go to {staging}.",
        "There's a pallet in the way at {bin}, report and go to {staging}.",
        'Blocked path near {bin}: report it and wait at {staging}.',
        'Report blockage at {bin}, then go to {staging}.',
        '{bin} is obstructed. Report and retreat to {staging}.',
        'Access to {bin} is closed off, report it and return to {staging}.',
        'Obstruction at {bin}! Report, then go to {staging}.',
        '!Route through {bin} impassable. Report. Proceed to {staging}.',
        "!{bin} can't be reached, tell the system and go to {staging}.",
        '!{bin} is full of boxes on the floor; report and go to {staging}.',
    ],
    'misscan': [
        "The label at {bin} won't scan, retry then escalate to {exc}.",
        'Barcode at {bin} is unreadable; try again and then go to {exc}.',
        'Scan failure at {bin}: rescan, then escalate to {exc}.',
        '{bin} label is damaged. Retry the scan and report to {exc}.',
        "Can't scan the label at {bin}; retry and send to {exc}.",
        'Misscan at {bin}, retry, then escalate to {exc}.',
        'Label in {bin} does not scan. Scan again, then go to {exc}.',
        'Bin {bin} failed to scan, retry and escalate to {exc} if it fails again.',
        'Rescan {bin}; if still unreadable, take it to {exc}.',
        '!{exc} should look at {bin}: the barcode there is torn.',
        '!No read on {bin}. Two more tries, then {exc}.',
        '!The tag at {bin} is smudged, retry once and escalate to {exc}.',
    ],
    'stop': [
        'Stop now.',
        'Halt immediately.',
        'Emergency stop!',
        'STOP',
        'Stop everything and stay where you are.',
        'Freeze!',
        'Abort current task and halt.',
        'Please stop moving.',
        "Don't move.",
        'E-stop, now.',
        'Cease all operation.',
        "Stop what you're doing right now.",
        '!Hold it right there!',
        '!Whoa, stay where you are.',
    ],
}


def _build_templates() -> dict:
    out = {}
    for fam in FAMILIES:
        lst = []
        for i, raw in enumerate(_RAW[fam]):
            hard = raw.startswith('!')
            lst.append(Template(f'{fam}/{i:02d}', fam, raw[1:] if hard else raw, hard))
        out[fam] = lst
    return out


TEMPLATES: dict = _build_templates()
"""family -> list of :class:`Template` (ids ``family/NN``, stable across versions)."""

TEMPLATE_BY_ID: dict = {t.id: t for ts in TEMPLATES.values() for t in ts}

_PREFIXES = ('', '', '', '', 'Hey, ', 'Robot 7, ', 'OK, ', 'Next task: ', 'New job - ',
             'Hi robot, ', 'Quick one: ')
_POLITE = ('Please ', 'Could you ', 'Can you ', 'Kindly ')
_SUFFIXES = ('', '', '', '', ' please', ' asap', ' when you get a chance', ', thanks',
             ' for robot 7', ' - urgent', ' thx', ' (high priority)', ' if you can')
_STOP_SUFFIXES = ('', '', '', ' for robot 7', ' - urgent', ', robot 7')
_IMPERATIVES = frozenset((
    'pick', 'grab', 'fetch', 'collect', 'go', 'move', 'replenish', 'restock', 'refill',
    'top', 'transfer', 'take', 'put', 'store', 'shelve', 'bring', 'shuttle', 'relocate',
    'carry', 'deliver', 'count', 'do', 'audit', 'verify', 'tally', 'check', 'head', 'charge',
    'return', 'park', 'drive', 'report', 'rescan', 'stop', 'halt', 'plug', 'cycle-count'))


def _num(n: int, rng: random.Random, p_word: float = 0.25) -> str:
    if n in _NUM_WORDS and n <= 20 and rng.random() < p_word:
        return _NUM_WORDS[n]
    return str(n)


def render_id(eid: str, rng: random.Random) -> str:
    """Render a canonical id the way an operator might write it."""
    kind, _, num = eid.partition('-')
    r = rng.random()
    if kind == 'SKU':
        forms = (eid, eid, eid, f'sku {num}', f'SKU {num}', f'sku-{num}', f'item {num}',
                 f'SKU#{num}')
        return rng.choice(forms)
    if kind == 'TOTE':
        forms = (eid, eid, eid, f'tote {num}', f'Tote-{num}', f'tote #{num}', f'TOTE {num}')
        return rng.choice(forms)
    words = {
        'PACK': ('pack station', 'packing station', 'pack', 'PACK'),
        'DOCK': ('dock', 'dock door', 'loading dock', 'DOCK'),
        'CHARGER': ('charger', 'charging station', 'charger', 'CHARGER'),
        'STAGING': ('staging area', 'staging', 'staging zone', 'STAGING'),
        'EXCEPTION': ('exception station', 'exception desk', 'exceptions area', 'EXCEPTION'),
    }
    if kind in words:
        if r < 0.55:
            return eid
        n = int(num)
        spelled = _num(n, rng, 0.3)
        word = rng.choice(words[kind])
        return f'{word if spelled.isdigit() else word.lower()} {spelled}'
    # bin
    if r < 0.8:
        return eid
    return eid.lower()


def _rand_bin(rng: random.Random) -> str:
    return f'{rng.choice("ABCDEF")}{rng.randint(1, 40):02d}-{rng.randint(1, 20):02d}'


def _rand_station(kind: str, rng: random.Random, avoid: str = '') -> str:
    while True:
        s = f'{kind}-{rng.randint(1, 20)}'
        if s != avoid:
            return s


def _secs_text(secs: int, rng: random.Random) -> str:
    if secs % 60 == 0 and rng.random() < 0.6:
        m = secs // 60
        unit = 'minute' if m == 1 else 'minutes'
        return f'{_num(m, rng, 0.4)} {unit}'
    return f'{secs} {rng.choice(("seconds", "s", "sec", "seconds"))}'


def _fill(t: Template, rng: random.Random) -> tuple[dict, TaskEntities]:
    """Choose ids for a template; return slot values and the matching entities."""
    fam = t.family
    vals: dict = {}
    if fam in ('pick', 'replenish', 'count'):
        vals['sku'] = f'SKU-{rng.randint(0, 99999):05d}'
    if fam in ('pick', 'replenish'):
        vals['qty'] = rng.randint(1, 20)
    if fam == 'pick':
        src = _rand_bin(rng)
        dkind = rng.choices(('PACK', 'DOCK', 'STAGING'), (8, 1, 1))[0]
        dst = _rand_station(dkind, rng)
        vals.update(bin=src, dst=dst)
        ents = TaskEntities(bins=(src,), stations=(dst,), skus=(vals['sku'],), qty=vals['qty'],
                            locations=(src, dst), roles=('src', 'dst'))
    elif fam == 'replenish':
        src = _rand_bin(rng)
        dst = src
        while dst == src:
            dst = _rand_bin(rng)
        vals.update(src=src, dst=dst)
        ents = TaskEntities(bins=(src, dst), skus=(vals['sku'],), qty=vals['qty'],
                            locations=(src, dst), roles=('src', 'dst'))
    elif fam in ('putaway', 'transfer'):
        vals['tote'] = f'TOTE-{rng.randint(1, 9999)}'
        if fam == 'putaway':
            src = _rand_station(rng.choices(('DOCK', 'STAGING'), (85, 15))[0], rng)
            dst = _rand_bin(rng)
            bins, stations = (dst,), (src,)
        else:
            kinds = ('PACK', 'STAGING', 'DOCK', 'EXCEPTION')
            src = _rand_station(rng.choice(kinds), rng)
            dst = _rand_station(rng.choice(kinds), rng, avoid=src)
            bins, stations = (), (src, dst)
        vals.update(src=src, dst=dst)
        ents = TaskEntities(bins=bins, stations=stations, totes=(vals['tote'],),
                            locations=(src, dst), roles=('src', 'dst'))
    elif fam == 'count':
        b = _rand_bin(rng)
        vals['bin'] = b
        ents = TaskEntities(bins=(b,), skus=(vals['sku'],), locations=(b,), roles=('',))
    elif fam == 'charge':
        if '{charger}' in t.text:
            c = _rand_station('CHARGER', rng)
            vals['charger'] = c
            ents = TaskEntities(stations=(c,), locations=(c,), roles=('dst',))
        else:
            ents = TaskEntities()
    elif fam == 'park':
        s = _rand_station('STAGING', rng)
        vals['staging'] = s
        ents = TaskEntities(stations=(s,), locations=(s,), roles=('dst',))
    elif fam in ('spill', 'blocked'):
        b = _rand_bin(rng)
        s = _rand_station('STAGING', rng)
        vals.update(bin=b, staging=s)
        secs = None
        if '{secs}' in t.text:
            secs = rng.choice((30, 45, 60, 90, 120, 180, 240, 300, 600))
            vals['secs'] = secs
        ents = TaskEntities(bins=(b,), stations=(s,), seconds=secs, locations=(b, s),
                            roles=('', 'dst'))
    elif fam == 'misscan':
        b = _rand_bin(rng)
        x = _rand_station('EXCEPTION', rng)
        vals.update(bin=b, exc=x)
        ents = TaskEntities(bins=(b,), stations=(x,), locations=(b, x), roles=('', 'dst'))
    else:
        ents = TaskEntities()
    return vals, ents


def render(t: Template, vals: dict, rng: random.Random, noise: bool = True) -> str:
    """Render a template with slot values, id spellings and (optionally) noise."""
    slots = {}
    for k, v in vals.items():
        if k == 'qty':
            glued = '{qty}x' in t.text or 'x{qty}' in t.text
            slots[k] = str(v) if glued else _num(v, rng)
        elif k == 'secs':
            slots[k] = _secs_text(v, rng)
        else:
            slots[k] = render_id(v, rng)
    text = t.text.format(**slots)
    if not noise:
        return text
    first = text.split(' ', 1)[0].lower().strip(',.:')
    if first in _IMPERATIVES and rng.random() < 0.3:
        pre = rng.choice(_POLITE)
        if pre != 'Please ':
            text = text.rstrip('.!') + '?'
    else:
        pre = rng.choice(_PREFIXES)
    suf = rng.choice(_STOP_SUFFIXES if t.family == 'stop' else _SUFFIXES)
    if first == 'please' and suf == ' please':
        suf = ''
    if pre and text[:1].isupper() and not text[:2].isupper():
        text = text[0].lower() + text[1:]
    if suf:
        end = ''
        while text and text[-1] in '.!?':
            end = text[-1] + end
            text = text[:-1]
        text = text + suf + end
    text = pre + text
    r = rng.random()
    if r < 0.15:
        text = text.lower()
    elif r < 0.2:
        text = text.upper()
    r = rng.random()
    if r < 0.25:
        text = text.rstrip('.')
    elif r < 0.3 and not text.endswith('?'):
        text = text.rstrip('.') + '!'
    return text


def _select(families: Optional[Iterable[str]], templates: Optional[Iterable[str]]) -> dict:
    fams = tuple(families) if families is not None else FAMILIES
    unknown = [f for f in fams if f not in TEMPLATES]
    if unknown:
        raise ValueError(f'unknown families: {unknown}')
    allowed = None
    if templates is not None:
        allowed = set(templates)
        bad = sorted(allowed - set(TEMPLATE_BY_ID))
        if bad:
            raise ValueError(f'unknown template ids: {bad[:5]}')
    out = {}
    for f in fams:
        ts = [t for t in TEMPLATES[f] if allowed is None or t.id in allowed]
        if ts:
            out[f] = ts
    if not out:
        raise ValueError('no templates selected')
    return out


def generate_examples(n: int, seed: int, families: Optional[Iterable[str]] = None,
                      templates: Optional[Iterable[str]] = None, noise: bool = True,
                      cfg: Optional[SafetyConfig] = None) -> list[Example]:
    """
    Generate ``n`` examples deterministically from ``seed``.

    Families are drawn uniformly (among ``families`` that keep at least one
    template after filtering by the template ids in ``templates``), then a
    template uniformly within the family.  ``noise=False`` skips fillers,
    casing and punctuation changes (id spellings still vary).
    """
    cfg = cfg if cfg is not None else SafetyConfig()
    pool = _select(families, templates)
    fams = sorted(pool, key=FAMILIES.index)
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        fam = rng.choice(fams)
        t = rng.choice(pool[fam])
        vals, ents = _fill(t, rng)
        task = render(t, vals, rng, noise=noise)
        plan = tuple(build_plan(fam, ents, None, cfg))
        out.append(Example(fam, t.id, task, plan, ents))
    return out


def split_templates(seed: int, heldout_fraction: float = 0.2
                    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """
    Return (train ids, held-out ids): ~``heldout_fraction`` of every family held out.

    At least one template per family is held out and at least one kept.
    Deterministic for a given seed.
    """
    rng = random.Random(seed)
    train, held = [], []
    for fam in FAMILIES:
        ids = [t.id for t in TEMPLATES[fam]]
        rng.shuffle(ids)
        k = min(len(ids) - 1, max(1, round(heldout_fraction * len(ids))))
        held.extend(ids[:k])
        train.extend(ids[k:])
    return tuple(sorted(train)), tuple(sorted(held))


def all_template_ids() -> tuple[str, ...]:
    """Return every template id in family order."""
    return tuple(t.id for f in FAMILIES for t in TEMPLATES[f])
