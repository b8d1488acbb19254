"""
The templates of the evaluation sets, and the split each one is in.

In-scope wordings (:mod:`rag_planner.training.wording`) train on ``split_templates(0)``'s
training templates, its held-out ones are halved into dev and test (:func:`wording_split`);
the negative templates (``data/negative_templates.yaml``) carry their split.  The blind
splits (:data:`BLIND`) have wording and negative templates of their own, ids prefixed
with the split's name: ``final`` (``data/final_templates.yaml``, written blind, reported
on, then looked at while fixing the composite planner), ``final2``
(``data/final2_templates.yaml``, written blind afterwards, with connectors of its own;
report only), ``final3`` (``data/final3_templates.yaml``, written blind by a helper
that saw neither the planners' code nor any results, connectors of its own; reported
on, then looked at), ``final4`` (``data/final4_templates.yaml``, written blind the same
way, new wordings and connectors of its own; reported on once, then looked at),
``final5``
(``data/final5_templates.yaml``, written blind the same way, new wordings and connectors
of its own; reported on once, then looked at), ``final6`` (``data/final6_templates.yaml``,
written blind the same way, new wordings, styles and connectors of its own; reported on
once, then looked at), ``final7`` (``data/final7_templates.yaml``, written blind the
same way; reported on once, then looked at), ``final8`` (``data/final8_templates.yaml``,
written blind the same way; reported on once, then looked at), ``final9``
(``data/final9_templates.yaml``, written blind the same way; reported on once, then
looked at), ``final10`` (``data/final10_templates.yaml``, written blind the same way;
reported on once, then looked at), ``final11`` (``data/final11_templates.yaml``,
written blind the same way; reported on once, then looked at), ``final12``
(``data/final12_templates.yaml``, written blind the same way; reported on once, then
looked at), ``final13`` (``data/final13_templates.yaml``, written blind the same way;
reported on once, then looked at), ``final14`` (``data/final14_templates.yaml``,
written blind the same way; reported on once, then looked at) and ``final15``
(``data/final15_templates.yaml``, written blind the same way; report only).  Their
wordings are kept apart from ``wording.TEMPLATES`` (which the generator trains on and
``split_templates`` splits) and rendered by the same renderer (:func:`generate_examples`).
:mod:`rag_planner.training.eval_sets` builds the cases.
"""

from __future__ import annotations

from dataclasses import dataclass
import functools
from pathlib import Path
import random
import re
from typing import Iterable, Optional

import yaml

from rag_planner.domain.safety import SafetyConfig
from rag_planner.domain.task_families import build_plan, FAMILIES
from rag_planner.training import wording


@dataclass(frozen=True)
class NegativeTemplate:
    """A template of ``negative_templates.yaml``: id ``<kind>/<NN>``, its kind and split."""

    id: str
    kind: str
    text: str
    split: str
    family: str = ''
    slot: str = ''


SPLITS = ('train', 'dev', 'test')  # the splits of the templates one may tune on
FINAL = 'final'                    # the blind split: report only
FINAL_PREFIX = 'final:'            # of every template id of the final split
NEGATIVE_FILE = Path(__file__).with_name('data') / 'negative_templates.yaml'
FINAL_FILE = Path(__file__).with_name('data') / 'final_templates.yaml'
REQUIRED_SLOTS: dict = {
    'pick': ('sku', 'quantity', 'source', 'destination'),
    'replenish': ('sku', 'quantity', 'source', 'destination'),
    'putaway': ('tote', 'source', 'destination'), 'transfer': ('tote', 'source', 'destination'),
    'count': ('sku', 'bin'), 'charge': (), 'park': ('staging',), 'spill': ('location', 'staging'),
    'blocked': ('location', 'staging'), 'misscan': ('bin', 'exception'), 'stop': ()}
"""family -> the required arguments a task of it can lack (task_families.SLOTS names)."""
EXTRA_SLOTS: dict = {
    'city': lambda rng: rng.choice(('Berlin', 'Madrid', 'Paris', 'Tokyo', 'Chicago', 'Oslo')),
    'name': lambda rng: rng.choice(('Anna', 'Marco', 'Priya', 'Tom', 'Lena', 'Kenji', 'Olga')),
    'big_qty': lambda rng: str(rng.randint(1000, 50000))}
"""Slots of the negative templates that are not task arguments: slot -> filler(rng)."""
TASK_SLOTS = ('qty', 'sku', 'bin', 'dst', 'src', 'tote', 'charger', 'staging', 'exc', 'secs')
KNOWN_SLOTS = frozenset(TASK_SLOTS) | frozenset(EXTRA_SLOTS) | {'task'}


def _load_negatives(doc: dict, name: str, prefix: str = '', split: str = '') -> dict:
    """
    Read negative templates: kind -> tuple of :class:`NegativeTemplate`.

    Every template carries its split, or all are of ``split`` (then ids start ``prefix``).
    """
    groups = [(f'out_of_scope/{k}', v, '', '') for k, v in doc['out_of_scope'].items()]
    groups += [(f'missing_argument/{fam}/{slot}', v, fam, slot)
               for fam, slots in doc['missing_argument'].items() for slot, v in slots.items()]
    groups.append(('override', doc['override'], '', ''))
    out = {}
    for kind, items, fam, slot in groups:
        ts = tuple(NegativeTemplate(f'{prefix}{kind}/{i:02d}', kind, item['text'],
                                    split or item['split'], fam, slot)
                   for i, item in enumerate(items))
        for t in ts:
            bad = set(re.findall(r'{(\w+)}', t.text)) - KNOWN_SLOTS
            if t.split not in ((split,) if split else SPLITS) or bad \
                    or (fam and slot not in REQUIRED_SLOTS.get(fam, ())):
                raise ValueError(f'{name}: template {t.id} has a bad split, slot or kind')
        out[kind] = ts
    return out


def _load_final_wording(doc: dict, name: str, prefix: str = FINAL_PREFIX) -> dict:
    """Read a blind split's wording templates: family -> tuple of ``wording.Template``."""
    out = {}
    for fam in FAMILIES:
        ts = []
        for i, item in enumerate(doc[fam]):
            text, hard = (item['text'], bool(item.get('hard'))) if isinstance(item, dict) \
                else (item, False)
            t = wording.Template(f'{prefix}{fam}/{i:02d}', fam, text, hard)
            if set(re.findall(r'{(\w+)}', text)) - set(TASK_SLOTS):
                raise ValueError(f'{name}: template {t.id} has an unknown slot')
            ts.append(t)
        out[fam] = tuple(ts)
    return out


_DOC = yaml.safe_load(NEGATIVE_FILE.read_text(encoding='utf-8'))
NEGATIVE_TEMPLATES: dict = _load_negatives(_DOC, NEGATIVE_FILE.name)
"""kind ('out_of_scope/question', 'missing_argument/pick/sku', 'override') -> templates."""
NEGATIVE_BY_ID: dict = {t.id: t for ts in NEGATIVE_TEMPLATES.values() for t in ts}
ZERO_WIDTH = tuple(_DOC['characters']['zero_width'])
LOOKALIKES: dict = _DOC['characters']['lookalikes']  # ASCII character of an id -> look-alikes
DECIMALS = tuple(_DOC['characters']['decimals'])
_FINAL_DOC = yaml.safe_load(FINAL_FILE.read_text(encoding='utf-8'))
FINAL_TEMPLATES: dict = _load_final_wording(_FINAL_DOC['wording'], FINAL_FILE.name)
"""family -> the final split's wording templates (ids ``final:<family>/NN``)."""
FINAL_TEMPLATE_BY_ID: dict = {t.id: t for ts in FINAL_TEMPLATES.values() for t in ts}
FINAL_NEGATIVES: dict = _load_negatives(_FINAL_DOC['negative'], FINAL_FILE.name,
                                        FINAL_PREFIX, FINAL)
"""kind -> the final split's negative templates (ids ``final:<kind>/NN``)."""
FINAL_NEGATIVE_BY_ID: dict = {t.id: t for ts in FINAL_NEGATIVES.values() for t in ts}


@dataclass(frozen=True)
class BlindSplit:
    """A blind split's templates: wording, negatives and (optional) composite connectors."""

    name: str
    templates: dict     # family -> wording templates
    negatives: dict     # kind -> negative templates
    connectors: dict    # 'two' / 'three' -> connector forms ('{a}, next {b}'); {} = the usual


def _load_blind(name: str) -> BlindSplit:
    path = FINAL_FILE.with_name(f'{name}_templates.yaml')
    doc = yaml.safe_load(path.read_text(encoding='utf-8'))
    conns = {k: tuple(v) for k, v in (doc.get('connectors') or {}).items()}
    for key, forms in conns.items():
        need = ('{a}', '{b}') + (('{c}',) if key == 'three' else ())
        if key not in ('two', 'three') or not all(all(n in f for n in need) for f in forms):
            raise ValueError(f'{path.name}: connectors.{key} must use {" ".join(need)}')
    return BlindSplit(name, _load_final_wording(doc['wording'], path.name, f'{name}:'),
                      _load_negatives(doc['negative'], path.name, f'{name}:', name), conns)


FINAL2 = 'final2'  # the second blind split (written after the first had been looked at)
FINAL3 = 'final3'  # the third blind split (written blind, without the planners' code)
FINAL4 = 'final4'  # the fourth blind split (written blind, without the planners' code)
FINAL5 = 'final5'  # the fifth blind split (written blind, without the planners' code)
FINAL6 = 'final6'  # the sixth blind split (written blind, without the planners' code)
FINAL7 = 'final7'  # the seventh blind split (written blind, without the planners' code)
FINAL8 = 'final8'  # the eighth blind split (written blind, without the planners' code)
FINAL9 = 'final9'  # the ninth blind split (written blind, without the planners' code)
FINAL10 = 'final10'  # the tenth blind split (written blind, without the planners' code)
FINAL11 = 'final11'  # the eleventh blind split (written blind, without the planners' code)
FINAL12 = 'final12'  # the twelfth blind split (written blind, without the planners' code)
FINAL13 = 'final13'  # the thirteenth blind split (written blind, without the planners' code)
FINAL14 = 'final14'  # the fourteenth blind split (written blind, without the planners' code)
FINAL15 = 'final15'  # the fifteenth blind split (written blind, without the planners' code)
BLIND: dict = {FINAL: BlindSplit(FINAL, FINAL_TEMPLATES, FINAL_NEGATIVES,
                                 {k: tuple(v) for k, v in
                                  (_FINAL_DOC.get('connectors') or {}).items()}),
               FINAL2: _load_blind(FINAL2), FINAL3: _load_blind(FINAL3),
               FINAL4: _load_blind(FINAL4), FINAL5: _load_blind(FINAL5),
               FINAL6: _load_blind(FINAL6), FINAL7: _load_blind(FINAL7),
               FINAL8: _load_blind(FINAL8), FINAL9: _load_blind(FINAL9),
               FINAL10: _load_blind(FINAL10), FINAL11: _load_blind(FINAL11),
               FINAL12: _load_blind(FINAL12), FINAL13: _load_blind(FINAL13),
               FINAL14: _load_blind(FINAL14), FINAL15: _load_blind(FINAL15)}
"""name -> the blind splits: report only, never tuned on nor trained on."""
BLIND_SPLITS = tuple(BLIND)
TEMPLATE_BY_ID: dict = {**wording.TEMPLATE_BY_ID,
                        **{t.id: t for b in BLIND.values()
                           for ts in b.templates.values() for t in ts}}
"""Every wording template (of any split) by id."""


@functools.lru_cache(maxsize=None)
def wording_split(split: str) -> tuple[str, ...]:
    """
    Return the wording template ids of ``split``.

    ``train``: the templates the generator trains on (``split_templates(0)``);
    ``dev`` / ``test``: the held-out templates of every family, shuffled by a
    seed named after the family and halved; ``final``: the final wording templates.
    """
    if split in BLIND:
        return tuple(sorted(t.id for ts in BLIND[split].templates.values() for t in ts))
    if split not in SPLITS:
        raise ValueError(f'unknown split {split!r} (known: {", ".join(SPLITS + BLIND_SPLITS)})')
    train, held = wording.split_templates(0)
    if split == 'train':
        return train
    halves: dict = {'dev': [], 'test': []}
    for j, fam in enumerate(FAMILIES):
        ids = sorted(i for i in held if wording.TEMPLATE_BY_ID[i].family == fam)
        random.Random(f'in_scope/{fam}').shuffle(ids)
        k = (len(ids) + (j % 2 == 0)) // 2  # an odd one goes to dev and test by turns
        halves['dev'] += ids[:k]
        halves['test'] += ids[k:]
    return tuple(sorted(halves[split]))


def negatives_of(kind: str, split: str) -> tuple:
    """Return the negative templates of ``kind`` in ``split`` (a blind split: its own file)."""
    pool = BLIND[split].negatives if split in BLIND else NEGATIVE_TEMPLATES
    return tuple(t for t in pool.get(kind, ()) if t.split == split)


def connectors_of(split: str) -> dict:
    """Return a blind split's own composite connectors ('two'/'three'), or {}."""
    return BLIND[split].connectors if split in BLIND else {}


def generate_examples(n: int, seed: int, split: str, families: Optional[Iterable[str]] = None,
                      noise: bool = True, cfg: Optional[SafetyConfig] = None
                      ) -> list[wording.Example]:
    """
    Generate ``n`` examples of the wording templates of ``split``, deterministic in ``seed``.

    The tuning splits: :func:`rag_planner.training.wording.generate_examples`.  ``final``:
    the same draw on the final templates (a family uniformly among ``families``, a
    template uniformly within it, slot values, rendering, the canonical plan of the chosen
    entities).
    """
    if split not in BLIND:
        return wording.generate_examples(n, seed, families=families,
                                         templates=wording_split(split), noise=noise, cfg=cfg)
    cfg = cfg if cfg is not None else SafetyConfig()
    fams = tuple(families) if families is not None else FAMILIES
    if set(fams) - set(FAMILIES):
        raise ValueError(f'unknown families: {sorted(set(fams) - set(FAMILIES))}')
    blind = BLIND[split].templates
    pool = {f: blind[f] for f in FAMILIES if f in fams and blind.get(f)}
    if not pool:
        raise ValueError('no templates selected')
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        fam = rng.choice(tuple(pool))
        t = rng.choice(pool[fam])
        vals, ents = wording._fill(t, rng)
        task = wording.render(t, vals, rng, noise=noise)
        plan = tuple(build_plan(fam, ents, None, cfg))
        out.append(wording.Example(fam, t.id, task, plan, ents))
    return out
