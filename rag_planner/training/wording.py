"""
Wording generator: many ways operators phrase the eleven task families.

The templates are data (``data/wording_templates.yaml``).  Every
:class:`Template` has a stable id (``'pick/07'``) so evaluation can
hold out whole templates (:func:`split_templates`) and measure how a planner
generalises to wordings it never saw.  :func:`generate_examples` fills
templates with random valid ids and renders them with variation: id spellings
(``PACK-4`` / ``pack station 4`` / ``packing station four``), spelled-out
quantities, fillers ("please", "asap", "for robot 7"), casing and
punctuation.  Plans come from :func:`rag_planner.domain.task_families.build_plan`
on entities chosen by the generator (never parsed back from the text), so
they are correct by construction and valid under the default safety config
for a robot with a full battery and no blocked locations.

Templates flagged ``hard`` are deliberately awkward for a keyword parser
(unusual order, no verbs, arrows pointing backwards); the rule planner is
expected to miss some of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
import random
from typing import Iterable, Optional

import yaml

from rag_planner.domain.entities import TaskEntities, WORD_NUMBERS
from rag_planner.domain.plan_grammar import Step
from rag_planner.domain.safety import SafetyConfig
from rag_planner.domain.task_families import build_plan, FAMILIES

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


TEMPLATE_FILE = Path(__file__).with_name('data') / 'wording_templates.yaml'


def _load_templates(path: Path = TEMPLATE_FILE) -> tuple:
    """Read the template file: (family -> [Template], noise lists)."""
    doc = yaml.safe_load(path.read_text(encoding='utf-8'))
    out = {}
    for fam in FAMILIES:
        lst = []
        for i, item in enumerate(doc['templates'][fam]):
            text, hard = (item['text'], bool(item.get('hard'))) if isinstance(item, dict) \
                else (item, False)
            lst.append(Template(f'{fam}/{i:02d}', fam, text, hard))
        out[fam] = lst
    return out, doc['noise']


TEMPLATES, _NOISE = _load_templates()
"""family -> list of :class:`Template` (ids ``family/NN``, stable across versions)."""

TEMPLATE_BY_ID: dict = {t.id: t for ts in TEMPLATES.values() for t in ts}

_PREFIXES = tuple(_NOISE['prefixes'])
_POLITE = tuple(_NOISE['polite'])
_SUFFIXES = tuple(_NOISE['suffixes'])
_STOP_SUFFIXES = tuple(_NOISE['stop_suffixes'])
_IMPERATIVES = frozenset(_NOISE['imperatives'])


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
