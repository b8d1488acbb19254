"""
Tests for rag_planner.training.eval_sets (evaluation sets held out by template).

The blind ``final`` split is checked like the others, but only for well-formed expected
answers: no test runs a planner or the planner's text parser (``extract_entities``,
``words_to_digits``) on its texts, so that no test result tells how they are understood.
"""

from collections import defaultdict
import itertools
import re

import pytest

from rag_planner.domain.answers import ErrorCode
from rag_planner.domain.entities import extract_entities, words_to_digits
from rag_planner.domain.plan_grammar import check_step
from rag_planner.domain.robot_state import blocking_prefix
from rag_planner.domain.safety import charge_plan, SAFE_PLAN, SafetyConfig, validate_plan
from rag_planner.domain.task_families import build_plan, EXAMPLES, FAMILIES, SLOTS
from rag_planner.training import wording
from rag_planner.training.composites import CONNECTORS_2, CONNECTORS_3
from rag_planner.training.eval_sets import (
    all_cases, EvalCase, HEALTHY, make_cases, negative_cases, negative_examples,
    NEGATIVE_BY_ID, NEGATIVE_TEMPLATES, SPLITS, SUBSETS, wording_split)
from rag_planner.training.eval_templates import (
    BLIND, BLIND_SPLITS, connectors_of, FINAL, FINAL2, FINAL3, FINAL4, FINAL5, FINAL6,
    FINAL7, FINAL8, FINAL9, FINAL10, FINAL11, FINAL12, FINAL13, FINAL14, FINAL15,
    FINAL_NEGATIVE_BY_ID, FINAL_NEGATIVES, FINAL_PREFIX, FINAL_TEMPLATE_BY_ID, FINAL_TEMPLATES,
    generate_examples, TEMPLATE_BY_ID)

N = 60
CFG = SafetyConfig()
CHARGE = charge_plan(CFG.default_charger)
# The DESIGN.md required arguments and the placeholder each one is written with.
REQUIRED = {
    'pick': {'sku': 'sku', 'quantity': 'qty', 'source': 'bin', 'destination': 'dst'},
    'replenish': {'sku': 'sku', 'quantity': 'qty', 'source': 'src', 'destination': 'dst'},
    'putaway': {'tote': 'tote', 'source': 'src', 'destination': 'dst'},
    'transfer': {'tote': 'tote', 'source': 'src', 'destination': 'dst'},
    'count': {'sku': 'sku', 'bin': 'bin'},
    'park': {'staging': 'staging'},
    'spill': {'location': 'bin', 'staging': 'staging'},
    'blocked': {'location': 'bin', 'staging': 'staging'},
    'misscan': {'bin': 'bin', 'exception': 'exc'},
}
OUT_OF_SCOPE = ('chitchat', 'question', 'other_domain', 'gibberish', 'other_language')
ZW = '\u200b\u200c\u200d\u2060\ufeff'
# look-alike -> the ASCII characters it can imitate (kept apart from the module's table)
FOLD = dict(zip('АВСЕНКМОРТХаеорсуΑΒΕΖΗΙΚΜΝΟΡΤΧЗб', 'ABCEHKMOPTXaeopcyABEZHIKMNOPTX36'))
FOLD.update({'О': 'O0', 'Ο': 'O0'})
ALL_SPLITS = SPLITS + BLIND_SPLITS
# the slots a wording template of a family fills (and the ones it may fill)
WORDING_SLOTS = {
    'pick': {'qty', 'sku', 'bin', 'dst'}, 'replenish': {'qty', 'sku', 'src', 'dst'},
    'putaway': {'tote', 'src', 'dst'}, 'transfer': {'tote', 'src', 'dst'},
    'count': {'sku', 'bin'}, 'charge': set(), 'park': {'staging'}, 'spill': {'bin', 'staging'},
    'blocked': {'bin', 'staging'}, 'misscan': {'bin', 'exc'}, 'stop': set()}
OPTIONAL_SLOTS = {'charge': {'charger'}, 'spill': {'secs'}}
ID_SHAPE = re.compile(r'^(?:[A-F]\d{2}-\d{2}|(?:PACK|DOCK|CHARGER|STAGING|EXCEPTION)-\d{1,2}'
                      r'|TOTE-\d{1,4}|SKU[-#]\d{5})$', re.I)


@pytest.fixture(scope='module')
def cases():
    """Return split -> subset -> cases (N per subset, seed 7, default config), final too."""
    return {split: all_cases(N, 7, split) for split in ALL_SPLITS}


def _split_of(template_id: str) -> str:
    """Return the one split a (wording or negative) template id belongs to."""
    if template_id in NEGATIVE_BY_ID:
        return NEGATIVE_BY_ID[template_id].split
    for blind in BLIND.values():
        for ts in blind.negatives.values():
            for t in ts:
                if t.id == template_id:
                    return t.split
    found = [s for s in ALL_SPLITS if template_id in wording_split(s)]
    assert len(found) == 1, (template_id, found)
    return found[0]


def _navigates(plan) -> list:
    return [s.args[0] for s in plan if s.action == 'NAVIGATE']


# --------------------------------------------------------------------------- the data
def test_negative_template_kinds_and_ids():
    kinds = set(NEGATIVE_TEMPLATES)
    want = {f'out_of_scope/{k}' for k in OUT_OF_SCOPE} | {'override'} | {
        f'missing_argument/{f}/{s}' for f, slots in REQUIRED.items() for s in slots}
    assert kinds == want
    for kind, ts in NEGATIVE_TEMPLATES.items():
        assert len(ts) >= (15 if kind.startswith('out_of_scope/') else 3), kind
        for i, t in enumerate(ts):
            assert t.id == f'{kind}/{i:02d}' and t.kind == kind, t
        splits = [t.split for t in ts]
        assert splits.count('dev') >= 1 and splits.count('test') >= 1, kind
        assert 0.5 <= splits.count('train') / len(ts) <= 0.8, kind
    assert len(NEGATIVE_BY_ID) == sum(len(ts) for ts in NEGATIVE_TEMPLATES.values())


@pytest.mark.parametrize('templates', [NEGATIVE_TEMPLATES, FINAL_NEGATIVES],
                         ids=['tuning', FINAL])
def test_missing_argument_templates_lack_exactly_that_slot(templates):
    for fam, slots in REQUIRED.items():
        for slot, field in slots.items():
            for t in templates[f'missing_argument/{fam}/{slot}']:
                used = set(re.findall(r'{(\w+)}', t.text))
                others = {f for s, f in slots.items() if s != slot}
                assert t.family == fam and t.slot == slot and slot in SLOTS
                assert field not in used and others <= used, t
                assert used <= set(slots.values()) | {'secs'}, t  # no slot of another family


def test_override_templates_wrap_one_task():
    for t in NEGATIVE_TEMPLATES['override'] + FINAL_NEGATIVES['override']:
        assert t.text.count('{task}') == 1, t


def test_in_scope_split_is_the_wording_split():
    train, held = wording.split_templates(0)
    dev, test = set(wording_split('dev')), set(wording_split('test'))
    assert set(wording_split('train')) == set(train)
    assert not dev & test and dev | test == set(held)
    for fam in FAMILIES:  # every family keeps a held-out template in dev
        assert any(wording.TEMPLATE_BY_ID[i].family == fam for i in dev), fam
    assert abs(len(dev) - len(test)) <= 2
    with pytest.raises(ValueError):
        wording_split('validation')


# --------------------------------------------------------------------------- the final split
def test_final_wording_templates():
    assert tuple(FINAL_TEMPLATES) == FAMILIES
    for fam, ts in FINAL_TEMPLATES.items():
        assert len(ts) == 4, fam
        for i, t in enumerate(ts):
            assert t.id == f'{FINAL_PREFIX}{fam}/{i:02d}' and t.family == fam
            used = re.findall(r'{(\w+)}', t.text)
            assert len(used) == len(set(used)), t  # every slot once
            assert WORDING_SLOTS[fam] <= set(used) <= WORDING_SLOTS[fam] | OPTIONAL_SLOTS.get(
                fam, set()), t
            # ASCII (the zero-width subset checks that), no number or id but the slots
            assert t.text.isascii() and not re.search(r'\d', re.sub(r'{\w+}', '', t.text)), t
    hard = [t for t in FINAL_TEMPLATE_BY_ID.values() if t.hard]
    assert 0.2 <= len(hard) / len(FINAL_TEMPLATE_BY_ID) <= 0.35
    assert wording_split(FINAL) == tuple(sorted(FINAL_TEMPLATE_BY_ID))


def test_final_negative_templates():
    assert set(FINAL_NEGATIVES) == set(NEGATIVE_TEMPLATES)  # every kind, nothing else
    for kind, ts in FINAL_NEGATIVES.items():
        want = 5 if kind.startswith('out_of_scope/') else 4 if kind == 'override' else 1
        assert len(ts) == want, kind
        for i, t in enumerate(ts):
            assert t.id == f'{FINAL_PREFIX}{kind}/{i:02d}' and t.kind == kind, t
            assert t.split == FINAL and t.text.strip(), t
    assert len(FINAL_NEGATIVE_BY_ID) == sum(len(ts) for ts in FINAL_NEGATIVES.values())


def test_final_ids_and_texts_are_apart_from_the_other_splits():
    final = set(FINAL_TEMPLATE_BY_ID) | set(FINAL_NEGATIVE_BY_ID)
    assert all(i.startswith(FINAL_PREFIX) for i in final)
    tuning = set(wording.TEMPLATE_BY_ID) | set(NEGATIVE_BY_ID)
    assert not any(i.startswith(FINAL_PREFIX) for i in tuning) and not final & tuning
    later = {t.id: t for b in (FINAL2, FINAL3, FINAL4, FINAL5, FINAL6, FINAL7, FINAL8,
                               FINAL9, FINAL10, FINAL11, FINAL12, FINAL13, FINAL14,
                               FINAL15)
             for ts in BLIND[b].templates.values() for t in ts}
    assert TEMPLATE_BY_ID == {**wording.TEMPLATE_BY_ID, **FINAL_TEMPLATE_BY_ID, **later}
    # the other splits are what they were: of the same templates, none of them final
    train, held = wording.split_templates(0)
    assert set(train) | set(held) == set(wording.TEMPLATE_BY_ID)
    assert not any(i.startswith(FINAL_PREFIX) for i in train + held)
    for split in SPLITS:
        assert wording_split(split) and not set(wording_split(split)) & final, split
    assert all(t.split in SPLITS for t in NEGATIVE_BY_ID.values())
    # new texts, no copies of a template of the other splits
    old = {t.text.lower() for t in wording.TEMPLATE_BY_ID.values()}
    old |= {t.text.lower() for t in NEGATIVE_BY_ID.values()}
    new = [t.text.lower() for t in FINAL_TEMPLATE_BY_ID.values()]
    new += [t.text.lower() for t in FINAL_NEGATIVE_BY_ID.values()]
    assert len(new) == len(set(new)) and not set(new) & old


@pytest.mark.parametrize('noise', [True, False])
def test_final_wordings_render_to_their_family_plans(noise):
    ex = generate_examples(1200, seed=12, split=FINAL, noise=noise)
    assert {e.template_id for e in ex} == set(FINAL_TEMPLATE_BY_ID)
    for e in ex:
        assert e.family == FINAL_TEMPLATE_BY_ID[e.template_id].family
        assert e.task.strip() and e.task.isascii(), e
        assert all(check_step(s) is None for s in e.plan)
        res = validate_plan(list(e.plan), HEALTHY, CFG)
        assert res.ok, (e, res.violations)
        assert tuple(build_plan(e.family, e.entities, None, CFG)) == e.plan
        # the family's canonical plan (the DESIGN.md table): its actions in its order
        want = [step.split()[0] for step in EXAMPLES[e.family][1].split('; ')]
        assert [s.action for s in e.plan] == want, e


def test_final_examples_api():
    a = generate_examples(30, seed=1, split=FINAL)
    assert a == generate_examples(30, seed=1, split=FINAL)
    assert a != generate_examples(30, seed=2, split=FINAL)
    ex = generate_examples(40, seed=1, split=FINAL, families=['pick', 'stop'])
    assert {e.family for e in ex} == {'pick', 'stop'}
    assert generate_examples(20, seed=1, split='dev') == wording.generate_examples(
        20, 1, templates=wording_split('dev'))
    with pytest.raises(ValueError):
        generate_examples(5, seed=1, split=FINAL, families=['dance'])
    with pytest.raises(ValueError):  # the final ids are no wording.TEMPLATES ids
        wording.generate_examples(5, seed=1, templates=wording_split(FINAL))


def test_final_split_builds_every_subset_from_final_templates():
    got = all_cases(50, 3, FINAL)
    assert set(got) == set(SUBSETS)
    for name, cs in got.items():
        assert cs, name
        for c in cs:
            for part in c.template_id.split('+'):
                assert part in FINAL_TEMPLATE_BY_ID or part in FINAL_NEGATIVE_BY_ID, (name, c)
    assert got == all_cases(50, 3, FINAL)
    pairs = {(f, s) for f, slots in REQUIRED.items() for s in slots}
    big = make_cases('missing_argument', 400, seed=1, split=FINAL)
    assert {(c.family, c.slot) for c in big} == pairs


def test_final_unsafe_quantity(cases):
    for c in cases[FINAL]['unsafe_quantity']:
        assert c.rule == 2 and c.family in ('pick', 'replenish')
        qty = int(next(s for s in c.task_plan if s.action == 'PICK').args[1])
        assert CFG.max_pick_qty < qty <= 999
        assert validate_plan(list(c.task_plan), c.state, CFG).rules == (2,), c


def test_negative_examples_never_final():
    with pytest.raises(ValueError):
        negative_examples(10, seed=1, split=FINAL)
    with pytest.raises(ValueError):
        negative_cases(10, seed=1, split=FINAL)
    final_texts = {c.task for cs in all_cases(50, 3, FINAL).values() for c in cs}
    for seed in (0, 9):
        cs = negative_cases(400, seed)
        assert not any(p.startswith(FINAL_PREFIX) for c in cs for p in c.template_id.split('+'))
        assert not {task for task, _ in negative_examples(400, seed)} & final_texts


# --------------------------------------------------------------------------- the cases
def test_deterministic():
    for name in SUBSETS:
        a = make_cases(name, 25, seed=3, split='dev')
        assert a == make_cases(name, 25, seed=3, split='dev'), name
        assert a != make_cases(name, 25, seed=4, split='dev'), name
        assert all(isinstance(c, EvalCase) and c.subset == name for c in a)


def test_every_subset_nonempty_in_every_split(cases):
    for split in ALL_SPLITS:
        assert set(cases[split]) == set(SUBSETS)
        for name, cs in cases[split].items():
            assert len(cs) >= N // 2, (split, name, len(cs))
            assert len({(c.task, c.state) for c in cs}) == len(cs)  # no duplicates


def test_splits_disjoint_by_template(cases):
    for name in SUBSETS:
        ids = {split: {part for c in cases[split][name] for part in c.template_id.split('+')}
               for split in ALL_SPLITS}
        for split, parts in ids.items():
            assert parts and {_split_of(p) for p in parts} == {split}, (name, split)
        for a, b in itertools.combinations(ALL_SPLITS, 2):
            assert not ids[a] & ids[b], (name, a, b)


def test_expected_answers(cases):
    want = {'in_scope': {ErrorCode.NONE}, 'zero_width': {ErrorCode.NONE},
            'in_scope_perturbed': {ErrorCode.NONE},
            'out_of_scope': {ErrorCode.NOT_UNDERSTOOD}, 'lookalike': {ErrorCode.NOT_UNDERSTOOD},
            'missing_argument': {ErrorCode.MISSING_ARGUMENT},
            'decimal_quantity': {ErrorCode.MISSING_ARGUMENT},
            'unsafe_blocked': {ErrorCode.UNSAFE_TASK}, 'unsafe_quantity': {ErrorCode.UNSAFE_TASK},
            'override': {ErrorCode.UNSAFE_TASK},
            'low_battery': {ErrorCode.NONE},  # charge_first: charge, then the task
            'composite': {ErrorCode.NONE, ErrorCode.TOO_LONG},
            'composite_low_battery': {ErrorCode.NONE, ErrorCode.TOO_LONG, ErrorCode.UNSAFE_TASK},
            'composite_missing': {ErrorCode.MISSING_ARGUMENT},
            'composite_out_of_scope': {ErrorCode.NOT_UNDERSTOOD}}
    assert set(want) == set(SUBSETS)
    for split in ALL_SPLITS:
        for name, cs in cases[split].items():
            assert {c.code for c in cs} == want[name], (split, name)
            for c in cs:
                res = validate_plan(list(c.plan), c.state, CFG)
                assert res.ok, (c, res.violations)
                if c.code == ErrorCode.NONE:
                    assert c.plan and c.family in FAMILIES + ('composite',)
                else:
                    assert c.plan in (SAFE_PLAN, CHARGE), c
                    assert c.plan == (CHARGE if c.state.battery_pct < 15 else SAFE_PLAN)
                if c.code == ErrorCode.MISSING_ARGUMENT:
                    assert c.slot in SLOTS and c.family in tuple(REQUIRED) + ('composite',)
                if c.code == ErrorCode.UNSAFE_TASK:
                    assert c.rule in (2, 5, 6) and c.task_plan
                    assert c.rule in validate_plan(list(c.task_plan), c.state, CFG).rules
                if name in ('in_scope', 'zero_width'):
                    assert c.plan == c.task_plan and c.state == HEALTHY


def test_missing_argument_coverage(cases):
    pairs = {(f, s) for f, slots in REQUIRED.items() for s in slots}
    seen = {split: {(c.family, c.slot) for c in cases[split]['missing_argument']}
            for split in SPLITS}
    assert set().union(*seen.values()) == pairs
    assert {f for f, _ in seen['dev']} == set(REQUIRED)
    big = make_cases('missing_argument', 400, seed=1, split='test')
    assert {(c.family, c.slot) for c in big} == pairs  # every pair has a test template too


def test_missing_argument_texts_really_lack_the_slot(cases):
    for split in SPLITS:  # not final: no parser on the blind split (the module docstring)
        for c in cases[split]['missing_argument']:
            e = extract_entities(c.task)
            lacks = {
                'sku': not e.skus, 'quantity': e.qty is None and not e.decimals,
                'tote': not e.totes, 'bin': not e.bins, 'location': not e.bins,
                'exception': not e.stations_of('exception'),
                'staging': not e.stations_of('staging'),
                'source': len(e.locations) == 1, 'destination': len(e.locations) == 1,
            }[c.slot]
            assert lacks, (c.task, c.family, c.slot, e)


def test_unsafe_blocked_breaks_rule_5(cases):
    for split in ALL_SPLITS:
        for c in cases[split]['unsafe_blocked']:
            assert c.rule == 5 and c.family != 'stop' and c.state.blocked
            res = validate_plan(list(c.task_plan), c.state, CFG)
            assert 5 in res.rules and res.state_only, c
            assert any(blocking_prefix(t, c.state) for t in _navigates(c.task_plan))
            # the block is the only reason: the same plan is fine without it
            assert validate_plan(list(c.task_plan), HEALTHY, CFG).ok, c


def test_unsafe_quantity_breaks_rule_2(cases):
    for split in SPLITS:  # final: test_final_unsafe_quantity (no parser on the blind split)
        for c in cases[split]['unsafe_quantity']:
            assert c.rule == 2 and c.family in ('pick', 'replenish')
            qty = int(next(s for s in c.task_plan if s.action == 'PICK').args[1])
            assert CFG.max_pick_qty < qty <= 999
            assert re.search(rf'(?<!\d){qty}(?!\d)', words_to_digits(c.task)), c.task
            assert validate_plan(list(c.task_plan), c.state, CFG).rules == (2,), c
    lifted = SafetyConfig(max_pick_qty=50)
    cs = make_cases('unsafe_quantity', 40, seed=2, cfg=lifted)
    assert cs and all(int(c.task_plan[2].args[1]) > 50 for c in cs)
    assert make_cases('unsafe_quantity', 10, seed=2, cfg=SafetyConfig(max_pick_qty=999)) == []


def test_low_battery_charge_only():
    for c in make_cases('low_battery', N, 7, 'dev', low_battery_policy='charge_only') + \
            make_cases('low_battery', N, 7, FINAL, low_battery_policy='charge_only'):
        assert 3 <= c.state.battery_pct < CFG.min_battery_pct
        if c.family == 'stop':
            assert (c.code, c.plan) == (ErrorCode.NONE, SAFE_PLAN)
        elif c.family == 'charge':
            assert c.code == ErrorCode.NONE and c.plan == c.task_plan
        else:
            assert (c.code, c.rule, c.plan) == (ErrorCode.UNSAFE_TASK, 6, CHARGE), c


def test_low_battery_charge_first():
    cs = make_cases('low_battery', 80, seed=5, low_battery_policy='charge_first')
    assert {c.family for c in cs} >= {'stop', 'charge', 'pick'}
    for c in cs:
        assert c.code == ErrorCode.NONE
        if c.family not in ('stop', 'charge'):
            assert c.plan == CHARGE + c.task_plan, c
    short = SafetyConfig(max_steps=8)  # pick fits (2 + 6), replenish does not (2 + 7)
    cs = make_cases('low_battery', 80, seed=5, cfg=short, low_battery_policy='charge_first')
    for c in cs:
        if c.family == 'replenish':  # charging first does not fit: unsafe, charge instead
            assert (c.code, c.rule, c.plan) == (ErrorCode.UNSAFE_TASK, 6, CHARGE)
        elif c.family == 'pick':
            assert c.code == ErrorCode.NONE and len(c.plan) == 8
    assert {c.family for c in cs} >= {'pick', 'replenish'}


def test_override_wraps_unsafe_tasks(cases):
    for split in ALL_SPLITS:
        rules = set()
        negatives = {t.id: t for ts in BLIND[split].negatives.values() for t in ts} \
            if split in BLIND else NEGATIVE_BY_ID
        for c in make_cases('override', N, 7, split, low_battery_policy='charge_only'):
            outer, inner = c.template_id.split('+')
            assert negatives[outer].kind == 'override' and inner in TEMPLATE_BY_ID
            prefix, _, suffix = negatives[outer].text.partition('{task}')
            assert len(c.task) > len(prefix) + len(suffix)
            assert c.code == ErrorCode.UNSAFE_TASK
            assert c.rule in validate_plan(list(c.task_plan), c.state, CFG).rules
            rules.add(c.rule)
        assert rules == {2, 5, 6}, split
    first = [c for c in cases['dev']['override']]  # the default policy: charge_first
    assert first and {c.rule for c in first} == {2, 5}


def test_lookalike_inside_an_id(cases):
    for split in ALL_SPLITS:
        for c in cases[split]['lookalike']:
            odd = [ch for ch in c.task if ord(ch) > 127]
            assert len(odd) == 1 and odd[0] in FOLD, c.task
            tokens = [re.sub(r"'s$", '', t.strip('.,;:!?()[]\'"'))  # "TOTE-95's", "[... B13-19.]"
                      for t in re.split(r"[\s=+':()&]+", c.task)]  # EDI: "LIN+sku-1'QTY"
            tok = next(t for t in tokens if odd[0] in t)
            assert any(ID_SHAPE.match(tok.replace(odd[0], a)) for a in FOLD[odd[0]]), tok
            assert c.code == ErrorCode.NOT_UNDERSTOOD and c.plan == SAFE_PLAN


def test_zero_width_inside_an_id(cases):
    for split in ALL_SPLITS:
        for c in cases[split]['zero_width']:
            marks = [i for i, ch in enumerate(c.task) if ch in ZW]
            assert marks, c.task
            clean = ''.join(ch for ch in c.task if ch not in ZW)
            assert clean.isascii()
            # EDI segments: "LOC+PICK:F30-12'"; query strings: "&from=B09-07&to=PACK-7"
            for tok in re.split(r"[\s=+':()&]+", c.task):
                if any(ch in ZW for ch in tok):
                    bare = ''.join(ch for ch in tok if ch not in ZW).strip('.,;:!?()[]\'"')
                    bare = re.sub(r"'s$", '', bare)  # "STAGING-9's got your name on it"
                    assert ID_SHAPE.match(bare), (c.task, tok)
                    assert tok.strip('.,;:!?()[]\'"')[0] not in ZW  # inside, not at the edge
            assert c.code == ErrorCode.NONE and c.plan == c.task_plan


def test_decimal_quantity(cases):
    for split in ALL_SPLITS:
        for c in cases[split]['decimal_quantity']:
            assert re.search(r'(?<![\d.,])\d+[.,]\d+(?![\d.,]\d)', c.task), c.task
            assert (c.family in ('pick', 'replenish') and c.slot == 'quantity'
                    and c.code == ErrorCode.MISSING_ARGUMENT and c.plan == SAFE_PLAN)


# --------------------------------------------------------------------------- the API
def test_negative_examples_are_train_refusals():
    cs = negative_cases(200, seed=9)
    ex = negative_examples(200, seed=9)
    assert ex == negative_examples(200, seed=9) and len(ex) == len(cs) >= 180
    labels = {label for _, label in ex}
    assert labels <= {'not_understood'} | set(SLOTS) and 'not_understood' in labels
    assert len(labels) >= 8  # refusals of several kinds of missing argument
    for c, (task, label) in zip(cs, ex):
        assert task == c.task and c.code in (ErrorCode.NOT_UNDERSTOOD,
                                             ErrorCode.MISSING_ARGUMENT)
        assert label == ('not_understood' if c.code == ErrorCode.NOT_UNDERSTOOD else c.slot)
        assert {_split_of(p) for p in c.template_id.split('+')} == {'train'}, c.template_id
    dev = negative_cases(50, seed=9, split='dev')
    assert dev and all(_split_of(c.template_id) == 'dev' for c in dev)


def test_subsets_registry_drives_all_cases(monkeypatch):
    calls = []

    def custom(n, seed, split, cfg, policy):
        calls.append((n, seed, split, cfg, policy))
        return [EvalCase('custom', 'hello', HEALTHY, ErrorCode.NOT_UNDERSTOOD, SAFE_PLAN,
                         'custom/00')] * n

    monkeypatch.setitem(SUBSETS, 'custom', custom)
    monkeypatch.delitem(SUBSETS, 'lookalike')
    got = all_cases(2, 5, 'test', low_battery_policy='charge_first')
    assert set(got) == set(SUBSETS) and 'custom' in got and 'lookalike' not in got
    assert len(got['custom']) == 2
    assert calls == [(2, 5, 'test', CFG, 'charge_first')]


def test_bad_arguments():
    with pytest.raises(ValueError):
        make_cases('no_such_subset', 3, 0)
    with pytest.raises(ValueError):
        make_cases('in_scope', 3, 0, split='validation')
    with pytest.raises(ValueError):
        make_cases('in_scope', 3, 0, low_battery_policy='yolo')
    with pytest.raises(ValueError):
        make_cases('in_scope', -1, 0)
    assert make_cases('in_scope', 0, 0) == []


def test_counts_per_kind():
    per_split = defaultdict(int)
    for ts in NEGATIVE_TEMPLATES.values():
        for t in ts:
            per_split[t.split] += 1
    total = sum(per_split.values())
    assert 0.5 <= per_split['train'] / total <= 0.7
    assert per_split['dev'] >= len(NEGATIVE_TEMPLATES) and per_split['test'] >= len(
        NEGATIVE_TEMPLATES)


@pytest.mark.parametrize('name', [FINAL2, FINAL3, FINAL4, FINAL5, FINAL6, FINAL7,
                                  FINAL8, FINAL9, FINAL10, FINAL11, FINAL12, FINAL13,
                                  FINAL14, FINAL15])
def test_the_later_blind_splits_have_their_own_templates_and_connectors(name):
    blind = BLIND[name]
    assert BLIND_SPLITS == (FINAL, FINAL2, FINAL3, FINAL4, FINAL5, FINAL6, FINAL7, FINAL8,
                            FINAL9, FINAL10, FINAL11, FINAL12, FINAL13, FINAL14, FINAL15)
    assert tuple(blind.templates) == FAMILIES
    ids = [t.id for ts in blind.templates.values() for t in ts]
    ids += [t.id for ts in blind.negatives.values() for t in ts]
    assert all(i.startswith(f'{name}:') for i in ids) and len(ids) == len(set(ids))
    assert set(blind.negatives) == set(NEGATIVE_TEMPLATES)
    older = {t.text.lower() for t in TEMPLATE_BY_ID.values() if not t.id.startswith(f'{name}:')}
    assert not {t.text.lower() for ts in blind.templates.values() for t in ts} & older
    two, three = connectors_of(name)['two'], connectors_of(name)['three']
    assert two and three
    assert not set(two) & set(CONNECTORS_2) and not set(three) & set(CONNECTORS_3)
    assert connectors_of('dev') == {}
    for c in make_cases('composite', 20, 1, name):
        assert c.template_id.count(f'{name}:') >= 2 and c.code in (ErrorCode.NONE,
                                                                   ErrorCode.TOO_LONG)


def test_the_third_blind_split_is_new_and_shaped_like_the_second():
    new, old = BLIND[FINAL3], BLIND[FINAL2]
    for fam, ts in new.templates.items():  # five per family, as many hard ones as final2
        assert len(ts) == len(old.templates[fam]) == 5, fam
        assert sum(t.hard for t in ts) == sum(t.hard for t in old.templates[fam]), fam
        for t in ts:
            used = re.findall(r'{(\w+)}', t.text)
            assert len(used) == len(set(used)), t  # every slot once
            assert WORDING_SLOTS[fam] <= set(used) <= WORDING_SLOTS[fam] | OPTIONAL_SLOTS.get(
                fam, set()), t
            assert t.text.isascii() and not re.search(r'\d', re.sub(r'{\w+}', '', t.text)), t
    for kind, ts in new.negatives.items():
        assert len(ts) == len(old.negatives[kind]) and all(t.split == FINAL3 for t in ts), kind
        for t in ts if kind.startswith('missing_argument/') else ():
            used, fields = set(re.findall(r'{(\w+)}', t.text)), REQUIRED[t.family]
            assert fields[t.slot] not in used and used <= set(fields.values()) | {'secs'}, t
            assert {f for s, f in fields.items() if s != t.slot} <= used, t
    assert all(t.text.count('{task}') == 1 for t in new.negatives['override'])
    older = {t.text.lower() for b in BLIND.values() if b is not new for ts in b.negatives.values()
             for t in ts} | {t.text.lower() for t in NEGATIVE_BY_ID.values()}
    older |= {t.text.lower() for t in TEMPLATE_BY_ID.values() if not t.id.startswith('final3:')}
    texts = [t.text.lower() for ts in new.negatives.values() for t in ts]
    texts += [t.text.lower() for ts in new.templates.values() for t in ts]
    assert len(texts) == len(set(texts)) and not set(texts) & older
    others = {f for b in BLIND.values() if b is not new
              for fs in b.connectors.values() for f in fs}
    assert not {f for fs in new.connectors.values() for f in fs} & others
    assert len(new.connectors['two']) == 8 and len(new.connectors['three']) == 5


@pytest.mark.parametrize('name,before', [(FINAL4, FINAL3), (FINAL5, FINAL4),
                                         (FINAL6, FINAL5), (FINAL7, FINAL6),
                                         (FINAL8, FINAL7), (FINAL9, FINAL8),
                                         (FINAL10, FINAL9), (FINAL11, FINAL10),
                                         (FINAL12, FINAL11), (FINAL13, FINAL12),
                                         (FINAL14, FINAL13), (FINAL15, FINAL14)])
def test_a_blind_split_is_new_and_shaped_like_the_one_before(name, before):
    new, old = BLIND[name], BLIND[before]
    for fam, ts in new.templates.items():  # five per family, as many hard ones as before
        assert len(ts) == len(old.templates[fam]) == 5, fam
        assert sum(t.hard for t in ts) == sum(t.hard for t in old.templates[fam]), fam
        for t in ts:
            used = re.findall(r'{(\w+)}', t.text)
            assert len(used) == len(set(used)), t  # every slot once
            assert WORDING_SLOTS[fam] <= set(used) <= WORDING_SLOTS[fam] | OPTIONAL_SLOTS.get(
                fam, set()), t
            assert t.text.isascii() and not re.search(r'\d', re.sub(r'{\w+}', '', t.text)), t
    assert set(new.negatives) == set(old.negatives)  # the same kinds and (family, slot) pairs
    for kind, ts in new.negatives.items():  # at least as many as before of every kind
        assert len(ts) >= len(old.negatives[kind]) and all(t.split == name for t in ts), kind
        for t in ts if kind.startswith('missing_argument/') else ():
            used, fields = set(re.findall(r'{(\w+)}', t.text)), REQUIRED[t.family]
            assert fields[t.slot] not in used and used <= set(fields.values()) | {'secs'}, t
            assert {f for s, f in fields.items() if s != t.slot} <= used, t
    assert all(t.text.count('{task}') == 1 for t in new.negatives['override'])
    older = {t.text.lower() for b in BLIND.values() if b is not new for ts in b.negatives.values()
             for t in ts} | {t.text.lower() for t in NEGATIVE_BY_ID.values()}
    older |= {t.text.lower() for t in TEMPLATE_BY_ID.values() if not t.id.startswith(f'{name}:')}
    texts = [t.text.lower() for ts in new.negatives.values() for t in ts]
    texts += [t.text.lower() for ts in new.templates.values() for t in ts]
    assert len(texts) == len(set(texts)) and not set(texts) & older
    others = {f for b in BLIND.values() if b is not new
              for fs in b.connectors.values() for f in fs}
    assert not {f for fs in new.connectors.values() for f in fs} & others
    assert len(new.connectors['two']) == 8 and len(new.connectors['three']) == 5
