"""
Evaluation sets held out by template: the answer DESIGN.md ("Answers") expects per task.

A case is a task text, a robot state, the expected error code and plan (the task's plan
for ``NONE``, else the safe action: ``HALT``, or the charge plan when the battery is low).
Cases come in subsets, one kind of case each; :data:`SUBSETS` registers them (a new kind
is one entry).  Every case names its template and every template is in one split
(:mod:`rag_planner.training.eval_templates`): train, dev, test, or ``final``, the blind
split to report on (its own templates, never tuned nor trained on).  Expected answers are
derived (:func:`expected_answer`) and checked: every expected plan is valid in its state,
else the generator raises ``AssertionError``.  :func:`negative_examples` gives the
generator's refusal training texts.
"""

from __future__ import annotations

from dataclasses import replace
import random
import re
from typing import Callable

from rag_planner.domain.answers import ErrorCode
from rag_planner.domain.entities import WORD_NUMBERS
from rag_planner.domain.plan_grammar import id_kind
from rag_planner.domain.safety import LOW_BATTERY_POLICIES, SafetyConfig
from rag_planner.domain.task_families import build_plan, FAMILIES, SLOTS
from rag_planner.training import wording
from rag_planner.training.eval_templates import (
    BLIND_SPLITS, DECIMALS, EXTRA_SLOTS, generate_examples, LOOKALIKES, NEGATIVE_TEMPLATES,
    NegativeTemplate, negatives_of, REQUIRED_SLOTS, TEMPLATE_BY_ID, wording_split, ZERO_WIDTH)
from rag_planner.training.eval_templates import NEGATIVE_BY_ID, SPLITS  # noqa: F401 (API)
from rag_planner.training.eval_answers import (  # noqa: F401 (API)
    EvalCase, expected_answer, HEALTHY, make_case as _case, safe_action)
from rag_planner.training.composites import MAKERS as COMPOSITE_MAKERS
from rag_planner.training.perturb import perturb


# an id in its canonical shape (any case): where look-alikes and zero-width characters go
ID_TOKEN_RE = re.compile(
    r'(?<![\w-])(?:[A-F]\d{2}-\d{2}|(?:PACK|DOCK|CHARGER|STAGING|EXCEPTION)-\d{1,2}'
    r'|TOTE-\d{1,4}|SKU[-#]\d{5})(?![\w-])', re.I)
_VERBATIM = ('gibberish', 'other_language')  # no fillers, ids as in the plan grammar
_NUMBER_WORDS = {v: k for k, v in WORD_NUMBERS.items()}
NEGATIVE_MIX = (('out_of_scope', 0.4), ('missing_argument', 0.4), ('decimal_quantity', 0.1),
                ('lookalike', 0.1))
"""The subsets :func:`negative_cases` draws from, with their shares."""


def _zone_aisle(rng: random.Random) -> str:
    return f'{rng.choice("ABCDEF")}{rng.randint(1, 40):02d}'


def _any_values(rng: random.Random) -> dict:
    """Slot values for a template of no family (ids for questions, gibberish, ...)."""
    vals = {k: f'{kind}-{rng.randint(1, 20)}' for k, kind in (
        ('src', 'DOCK'), ('dst', 'PACK'), ('charger', 'CHARGER'), ('staging', 'STAGING'),
        ('exc', 'EXCEPTION'))}
    return dict(vals, sku=f'SKU-{rng.randint(0, 99999):05d}', qty=rng.randint(1, 20), secs=60,
                bin=f'{_zone_aisle(rng)}-{rng.randint(1, 20):02d}',
                tote=f'TOTE-{rng.randint(1, 9999)}')


def _fill_extra(text: str, rng: random.Random) -> str:
    for slot, filler in EXTRA_SLOTS.items():
        while '{' + slot + '}' in text:
            text = text.replace('{' + slot + '}', filler(rng), 1)
    return text


def render_negative(t: NegativeTemplate, rng: random.Random, noise: bool) -> str:
    """Fill a negative template: task slots as the wording generator renders them."""
    text = _fill_extra(t.text, rng)
    if t.family:  # ids of the kinds the family uses (a putaway's {dst} is a bin, ...)
        vals = wording._fill(wording.Template(t.id, t.family, text), rng)[0]
    else:
        vals = _any_values(rng)
    vals = {k: v for k, v in vals.items() if '{' + k + '}' in text}
    if t.kind.split('/')[-1] in _VERBATIM:
        return text.format(**{k: str(v) for k, v in vals.items()})
    return wording.render(wording.Template(t.id, t.family or 'none', text), vals, rng, noise)


def _example(rng: random.Random, split: str, cfg: SafetyConfig, families=None, noise=True):
    """Draw one in-scope example from the wording templates of ``split``."""
    return generate_examples(1, rng.randrange(1 << 30), split, families=families, noise=noise,
                             cfg=cfg)[0]


def _qty_text(q: int, rng: random.Random, glued: bool) -> str:
    """Write a quantity: digits, or words ("forty-two") sometimes for q <= 99."""
    if glued or q > 99 or rng.random() < 0.7:
        return str(q)
    return _NUMBER_WORDS.get(q) or f'{_NUMBER_WORDS[q // 10 * 10]}-{_NUMBER_WORDS[q % 10]}'


def _with_qty(rng: random.Random, split: str, qty_text, noise: bool):
    """Render a pick/replenish template with {qty} from ``qty_text(rng, glued)`` -> (q, text)."""
    ids = wording_split(split)
    fams = [f for f in ('pick', 'replenish') if any(TEMPLATE_BY_ID[i].family == f for i in ids)]
    fam = rng.choice(fams)
    t = TEMPLATE_BY_ID[rng.choice([i for i in ids if TEMPLATE_BY_ID[i].family == fam])]
    vals, ents = wording._fill(t, rng)
    glued = '{qty}x' in t.text or 'x{qty}' in t.text
    vals.pop('qty')
    q, text = qty_text(rng, glued)
    task = wording.render(wording.Template(t.id, t.family, t.text.replace('{qty}', text),
                                           t.hard), vals, rng, noise)
    return t, task, replace(ents, qty=q)


# --------------------------------------------------------------------------- subsets
# A maker takes (rng, split, cfg, policy, noise) and returns make(): one case, or None
# to skip the draw.  _subset() turns it into a generator (n, seed, split, cfg, policy).
def _in_scope(rng, split, cfg, policy, noise=True) -> Callable:
    def make():
        ex = _example(rng, split, cfg, noise=noise)
        code, plan, _ = expected_answer(ex.family, ex.plan, HEALTHY, cfg, policy)
        if code != ErrorCode.NONE:
            return None  # e.g. a qty above a lowered max_pick_qty: not an in-scope case
        return _case(ex.task, HEALTHY, code, plan, ex.template_id, cfg, family=ex.family,
                     task_plan=ex.plan)
    return make


def _out_of_scope(rng, split, cfg, policy, noise=True) -> Callable:
    kinds = sorted(k for k in NEGATIVE_TEMPLATES if k.startswith('out_of_scope/'))

    def make():
        kind = rng.choice(kinds)
        t = rng.choice(negatives_of(kind, split))
        return _case(render_negative(t, rng, noise), HEALTHY, ErrorCode.NOT_UNDERSTOOD,
                     safe_action(HEALTHY, cfg), t.id, cfg)
    return make


def _missing_argument(rng, split, cfg, policy, noise=True) -> Callable:
    fams = [f for f in FAMILIES if REQUIRED_SLOTS[f]]

    def make():
        fam = rng.choice(fams)
        slot = rng.choice(REQUIRED_SLOTS[fam])
        t = rng.choice(negatives_of(f'missing_argument/{fam}/{slot}', split))
        return _case(render_negative(t, rng, noise), HEALTHY, ErrorCode.MISSING_ARGUMENT,
                     safe_action(HEALTHY, cfg), t.id, cfg, family=fam, slot=slot)
    return make


def _unsafe(task, state, template_id, family, task_plan, rule, cfg, policy) -> EvalCase:
    code, plan, got = expected_answer(family, task_plan, state, cfg, policy)
    if code != ErrorCode.UNSAFE_TASK or got != rule:
        raise AssertionError(f'{task!r} in {state} is {code.name} rule {got}, not rule {rule}')
    return _case(task, state, code, plan, template_id, cfg, family=family, rule=rule,
                 task_plan=tuple(task_plan))


def _unsafe_blocked(rng, split, cfg, policy, noise=True) -> Callable:
    fams = tuple(f for f in FAMILIES if f != 'stop')

    def make():
        ex = _example(rng, split, cfg, fams, noise)
        targets = [s.args[0] for s in ex.plan if s.action == 'NAVIGATE']
        target = rng.choice(targets)
        prefix = target[:3] if id_kind(target) == 'bin' and rng.random() < 0.7 else target
        if HEALTHY.location.startswith(prefix):
            return None  # the robot would stand in the blocked zone already
        blocked = [prefix]
        other = _zone_aisle(rng)
        if rng.random() < 0.3 and not any(t.startswith(other) for t in targets):
            blocked.insert(rng.randint(0, 1), other)  # a block that does not matter
        state = replace(HEALTHY, blocked=tuple(blocked))
        return _unsafe(ex.task, state, ex.template_id, ex.family, ex.plan, 5, cfg, policy)
    return make


def _unsafe_quantity(rng, split, cfg, policy, noise=True) -> Callable:
    lo = cfg.max_pick_qty + 1

    def qty_text(rng, glued):
        hi = rng.choice((lo + 9, 99, 199, 999))
        q = rng.randint(lo, max(lo, min(hi, 999)))
        return q, _qty_text(q, rng, glued)

    def make():
        if lo > 999:
            return None  # no quantity a plan can hold is above the limit
        t, task, ents = _with_qty(rng, split, qty_text, noise)
        task_plan = tuple(build_plan(t.family, ents, None, cfg))
        return _unsafe(task, HEALTHY, t.id, t.family, task_plan, 2, cfg, policy)
    return make


def _low_battery(rng, split, cfg, policy, noise=True) -> Callable:
    hi = min(14.0, cfg.min_battery_pct - 0.1)

    def make():
        if hi < 0.5:
            return None  # min_battery_pct this low: no battery is "low"
        ex = _example(rng, split, cfg, noise=noise)
        state = replace(HEALTHY, battery_pct=round(rng.uniform(min(3.0, hi), hi), 1))
        code, plan, rule = expected_answer(ex.family, ex.plan, state, cfg, policy)
        return _case(ex.task, state, code, plan, ex.template_id, cfg, family=ex.family,
                     rule=rule, task_plan=ex.plan)
    return make


def _override(rng, split, cfg, policy, noise=True) -> Callable:
    inner = [_unsafe_blocked(rng, split, cfg, policy, False),
             _unsafe_quantity(rng, split, cfg, policy, False)]
    if policy == 'charge_only':  # with charge_first a low battery is no refusal
        inner.append(_low_battery(rng, split, cfg, policy, False))

    def make():
        base = rng.choice(inner)()
        if base is None or base.code != ErrorCode.UNSAFE_TASK:
            return None
        t = rng.choice(negatives_of('override', split))
        text = _fill_extra(t.text, rng)
        before = text.split('{task}', 1)[0].rstrip()
        task = base.task
        if before and before[-1] not in '.:;!?' and not task[:2].isupper():
            task = task[:1].lower() + task[1:]
        return replace(base, task=text.replace('{task}', task),
                       template_id=f'{t.id}+{base.template_id}')
    return make


def _lookalike(rng, split, cfg, policy, noise=True) -> Callable:
    def make():
        ex = _example(rng, split, cfg, noise=noise)
        tokens = [m for m in ID_TOKEN_RE.finditer(ex.task) if set(m.group(0)) & set(LOOKALIKES)]
        if not tokens:
            return None
        m = rng.choice(tokens)
        pos = m.start() + rng.choice([i for i, c in enumerate(m.group(0)) if c in LOOKALIKES])
        task = ex.task[:pos] + rng.choice(LOOKALIKES[ex.task[pos]]) + ex.task[pos + 1:]
        return _case(task, HEALTHY, ErrorCode.NOT_UNDERSTOOD, safe_action(HEALTHY, cfg),
                     ex.template_id, cfg, family=ex.family)
    return make


def _zero_width(rng, split, cfg, policy, noise=True) -> Callable:
    def make():
        ex = _example(rng, split, cfg, noise=noise)
        tokens = list(ID_TOKEN_RE.finditer(ex.task))
        code, plan, _ = expected_answer(ex.family, ex.plan, HEALTHY, cfg, policy)
        if not tokens or code != ErrorCode.NONE:
            return None
        task = ex.task
        for m in sorted(rng.sample(tokens, min(len(tokens), rng.randint(1, 2))),
                        key=lambda m: -m.start()):  # from the end: earlier offsets hold
            for pos in sorted(rng.sample(range(m.start() + 1, m.end()), rng.randint(1, 2)),
                              reverse=True):
                task = task[:pos] + rng.choice(ZERO_WIDTH) + task[pos:]
        return _case(task, HEALTHY, code, plan, ex.template_id, cfg, family=ex.family,
                     task_plan=ex.plan)
    return make


def _decimal_quantity(rng, split, cfg, policy, noise=True) -> Callable:
    def make():
        t, task, _ = _with_qty(rng, split, lambda rng, glued: (None, rng.choice(DECIMALS)),
                               noise)
        return _case(task, HEALTHY, ErrorCode.MISSING_ARGUMENT, safe_action(HEALTHY, cfg), t.id,
                     cfg, family=t.family, slot='quantity')
    return make


def _perturbed(rng, split, cfg, policy, noise=True) -> Callable:
    make_in_scope = _in_scope(rng, split, cfg, policy, noise)

    def make():
        case = make_in_scope()
        return case and replace(case, task=perturb(case.task, rng)[0])
    return make


def _subset(name: str, maker: Callable) -> Callable:
    """Turn a maker into a subset generator: ``n`` distinct cases (fewer if it runs dry)."""
    def generate(n: int, seed: int, split: str, cfg: SafetyConfig,
                 policy: str) -> list[EvalCase]:
        make = maker(random.Random(f'{name}/{split}/{seed}'), split, cfg, policy)
        out, seen = [], set()
        for _ in range(20 * n + 50):
            if len(out) >= n:
                break
            case = make()
            if case is not None and (case.task, case.state) not in seen:
                seen.add((case.task, case.state))
                out.append(replace(case, subset=name))
        return out
    generate.__name__ = generate.__qualname__ = f'{name}_cases'
    generate.__doc__ = f'Return up to n distinct {name} cases of one split.'
    return generate


SUBSETS: dict = {
    'in_scope': _subset('in_scope', _in_scope),
    'in_scope_perturbed': _subset('in_scope_perturbed', _perturbed),
    'out_of_scope': _subset('out_of_scope', _out_of_scope),
    'missing_argument': _subset('missing_argument', _missing_argument),
    'unsafe_blocked': _subset('unsafe_blocked', _unsafe_blocked),
    'unsafe_quantity': _subset('unsafe_quantity', _unsafe_quantity),
    'low_battery': _subset('low_battery', _low_battery),
    'override': _subset('override', _override),
    'lookalike': _subset('lookalike', _lookalike),
    'zero_width': _subset('zero_width', _zero_width),
    'decimal_quantity': _subset('decimal_quantity', _decimal_quantity),
    **{name: _subset(name, maker) for name, maker in COMPOSITE_MAKERS.items()},
}
"""name -> generator(n, seed, split, cfg, policy) -> list[EvalCase]: one entry per kind."""


def make_cases(subset: str, n: int, seed: int, split: str = 'dev',
               cfg: SafetyConfig = SafetyConfig(),
               low_battery_policy: str = 'charge_first') -> list[EvalCase]:
    """Return up to ``n`` distinct cases of ``subset`` (fewer if the split runs dry)."""
    if subset not in SUBSETS:
        raise ValueError(f'unknown subset {subset!r} (known: {", ".join(SUBSETS)})')
    if low_battery_policy not in LOW_BATTERY_POLICIES or isinstance(n, bool) \
            or not isinstance(n, int) or n < 0:
        raise ValueError(f'bad n {n!r} or low_battery_policy {low_battery_policy!r}')
    wording_split(split)  # raises ValueError on an unknown split
    return SUBSETS[subset](n, seed, split, cfg, low_battery_policy)


def all_cases(n_per_subset: int, seed: int, split: str = 'dev', **kw) -> dict[str, list]:
    """Return {subset: make_cases(subset, ...)} for every subset of :data:`SUBSETS`."""
    return {name: make_cases(name, n_per_subset, seed, split, **kw) for name in SUBSETS}


def refusal_label(case: EvalCase) -> str:
    """Return the generator's refusal label of a case: 'not_understood' or the missing slot."""
    label = {ErrorCode.NOT_UNDERSTOOD: 'not_understood',
             ErrorCode.MISSING_ARGUMENT: case.slot}.get(case.code)
    if label in SLOTS or label == 'not_understood':
        return label
    raise ValueError(f'{case.subset} case {case.template_id} is not a refusal of the generator')


def negative_cases(n: int, seed: int, split: str = 'train') -> list[EvalCase]:
    """
    Return about ``n`` refusal cases of ``split`` mixed by :data:`NEGATIVE_MIX`, shuffled.

    Never of the final split (report only, not to be trained on): ``ValueError``.
    """
    if split in BLIND_SPLITS:
        raise ValueError('the final split is for the final report only, never for training')
    counts = [round(n * share) for _, share in NEGATIVE_MIX]
    counts[0] += n - sum(counts)
    out = []
    for (name, _), k in zip(NEGATIVE_MIX, counts):
        out += make_cases(name, k, seed, split)
    random.Random(f'negatives/{split}/{seed}').shuffle(out)
    return out


def negative_examples(n: int, seed: int, split: str = 'train') -> list[tuple[str, str]]:
    """Return (task text, refusal label) pairs for training the generator to refuse."""
    return [(c.task, refusal_label(c)) for c in negative_cases(n, seed, split)]
