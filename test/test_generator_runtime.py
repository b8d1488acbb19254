"""Tests of the generator runtime: candidates, grammar mask, loading, decoding (no torch)."""

import json
from pathlib import Path
import random
import shutil
import subprocess
import sys

import numpy as np
import pytest

from rag_planner.domain.plan_grammar import ACTIONS, format_plan, parse_plan, Step
from rag_planner.domain.robot_state import RobotState
from rag_planner.domain.safety import SafetyConfig
from rag_planner.generation.augment import Budget, build_inputs, ENCODER_INPUTS
from rag_planner.generation.candidates import extract_candidates, words_to_int
from rag_planner.generation.runtime import (
    default_model_dir, GenerationError, Generator, GeneratorLoadError, MANIFEST)
from rag_planner.generation.vocab import (
    GrammarState, plan_targets, REFUSAL_TOKENS, REFUSE, Vocab)
from rag_planner.planners.generated import rule_hint
from rag_planner.retrieval.embedder import Embedder

MODEL_DIR = default_model_dir()
HAVE_MODEL = (MODEL_DIR / MANIFEST).is_file()
needs_model = pytest.mark.skipif(not HAVE_MODEL, reason=f'no shipped model in {MODEL_DIR}')


def _values(task):
    return [(c.value, c.kind) for c in extract_candidates(task)]


def test_candidates_normalise_ids_and_numbers():
    got = _values('Pick three units of sku 48213 from a12-03 and bring them to pack station 4')
    assert got == [('3', 'num'), ('SKU-48213', 'sku'), ('A12-03', 'bin'), ('PACK-4', 'pack')]
    assert ('TOTE-55', 'tote') in _values('bring tote #55 from dock door 2 to PACK-6')
    assert ('DOCK-2', 'dock') in _values('bring tote #55 from dock door 2 to PACK-6')
    assert ('CHARGER-3', 'charger') in _values('go charge at charging station three')
    assert ('120', 'num') in _values('report the spill and wait 2 minutes at STAGING-1')
    assert ('12', 'num') in _values('fetch 12x SKU-00001 at B01-01 for PACK-1')
    assert ('20', 'num') in _values('pick SKU-00001 x20 B01-01 to PACK-1')
    assert words_to_int('twenty-five') == 25
    assert words_to_int('two hundred and ten') == 210


def test_candidates_merge_repeated_values():
    cands = extract_candidates('scan A01-02, then count SKU-11111 at a01-02')
    bins = [c for c in cands if c.kind == 'bin']
    assert len(bins) == 1 and len(bins[0].spans) == 2


def test_plan_targets_round_trip_through_grammar():
    vocab = Vocab(('60',))
    task = 'Spill at D09-07, report it and wait at STAGING-1.'
    plan = parse_plan('REPORT SPILL D09-07; NAVIGATE STAGING-1; WAIT 60')
    cands = extract_candidates(task)
    tgt = plan_targets(plan, cands, vocab)
    assert tgt is not None
    gs = GrammarState(cands, 12, vocab)
    for idx in tgt:
        assert gs.mask()[idx], f'token {idx} not allowed'
        done = gs.advance(idx)
    assert done and gs.done_steps == plan


def _random_decode(cands, vocab, rng, max_new, max_steps=16):
    gs = GrammarState(cands, 12, vocab, max_steps=max_steps, max_new_tokens=max_new)
    for _ in range(max_new):
        m = gs.mask()
        assert m.any()
        if gs.advance(int(rng.choice(np.nonzero(m)[0]))):
            return gs.done_steps
    raise AssertionError('grammar did not finish within the budget')


@pytest.mark.parametrize('task', [
    'Pick 3 units of SKU-48213 from A12-03 and bring them to PACK-4.',
    'Bring TOTE-55 from PACK-1 to PACK-6.', 'Stop now.', 'go charge', 'A11-04 is blocked',
])
def test_any_path_through_the_grammar_parses(task):
    vocab = Vocab(('60',))
    rng = np.random.default_rng(0)
    cands = extract_candidates(task)
    refusals = 0
    for max_new in (2, 3, 7, 20, 64):
        for _ in range(30):
            steps = _random_decode(cands, vocab, rng, max_new)
            if steps[0].action == REFUSE:  # a refusal is the whole output, one label
                assert len(steps) == 1 and len(steps[0].args) == 1
                assert steps[0].args[0] in REFUSAL_TOKENS
                refusals += 1
                continue
            assert parse_plan(format_plan(steps)) == steps
            assert 1 <= len(steps) <= 16
    assert refusals  # the grammar offers the refusal too


def test_grammar_respects_max_steps():
    vocab = Vocab(('60',))
    rng = np.random.default_rng(1)
    for _ in range(20):
        steps = _random_decode(extract_candidates('A01-01 to B02-02'), vocab, rng, 64,
                               max_steps=3)
        assert len(steps) <= 3


def test_grammar_masks_actions_without_usable_ids():
    vocab = Vocab(('60',))
    m = GrammarState([], 12, vocab).mask()
    allowed = {vocab.out_tokens[i] for i in np.nonzero(m)[0]}
    assert allowed == {'HALT', 'REPORT', 'WAIT', REFUSE}  # no ids: nothing to navigate/...
    assert 'PICK' not in allowed and set(allowed) - {REFUSE} <= set(ACTIONS)


class _FakeEncoded:
    def __init__(self, n=10):
        self.token_states = np.random.default_rng(0).standard_normal((n, 384)).astype(np.float32)
        self.token_ids = tuple([101] + [2000] * (n - 2) + [102])
        self.offsets = tuple([(0, 0)] + [(i, i + 1) for i in range(n - 2)] + [(0, 0)])


def test_build_inputs_fixed_shapes_and_budget():
    vocab = Vocab(('60',))
    b = Budget()
    long_plan = [Step('NAVIGATE', ('A01-01',)), Step('SCAN', ('A01-01',))] * 8
    inp = build_inputs('x' * 300, _FakeEncoded(200), [long_plan] * 5, vocab, b,
                       hint=long_plan)
    assert sorted(inp.arrays) == sorted(ENCODER_INPUTS)
    assert inp.arrays['q_states'].shape == (b.max_query_tokens, 384)
    assert inp.n_query_tokens == b.max_query_tokens
    assert inp.n_retrieved_tokens == b.max_retrieved_tokens
    assert inp.arrays['r_tok'].shape == (b.max_retrieved_tokens,)
    assert inp.arrays['c_span'].shape == (b.max_candidates, b.max_query_tokens)


def test_load_errors(tmp_path):
    with pytest.raises(GeneratorLoadError, match='manifest not found'):
        Generator.load(tmp_path / 'nope')
    (tmp_path / MANIFEST).write_text('{not json')
    with pytest.raises(GeneratorLoadError, match='cannot read'):
        Generator.load(tmp_path)
    (tmp_path / MANIFEST).write_text(json.dumps({'format': 'other'}))
    with pytest.raises(GeneratorLoadError, match='not a'):
        Generator.load(tmp_path)


@needs_model
def test_load_detects_missing_and_tampered_files(tmp_path):
    d = tmp_path / 'm'
    shutil.copytree(MODEL_DIR, d)
    Generator.load(d)
    (d / 'decoder_step.onnx').write_bytes((d / 'decoder_step.onnx').read_bytes()[:-10])
    with pytest.raises(GeneratorLoadError, match='sha256'):
        Generator.load(d)
    (d / 'vocab.json').unlink()
    with pytest.raises(GeneratorLoadError, match='missing'):
        Generator.load(d)


@pytest.fixture(scope='module')
def loaded():
    if not HAVE_MODEL:
        pytest.skip(f'no shipped model in {MODEL_DIR}')
    return Generator.load(MODEL_DIR), Embedder.load()


DESIGN_CASES = [
    ('Pick 3 units of SKU-48213 from A12-03 and bring them to PACK-4.',
     'NAVIGATE A12-03; SCAN A12-03; PICK SKU-48213 3; NAVIGATE PACK-4; PLACE PACK-4; '
     'REPORT DONE SKU-48213'),
    ('Move 12 units of SKU-10077 from reserve B30-11 to forward bin B02-05.',
     'NAVIGATE B30-11; SCAN B30-11; PICK SKU-10077 12; NAVIGATE B02-05; SCAN B02-05; '
     'PLACE B02-05; REPORT DONE SKU-10077'),
    ('Take TOTE-812 from DOCK-2 and store it at E07-14.',
     'NAVIGATE DOCK-2; SCAN TOTE-812; LOAD TOTE-812; NAVIGATE E07-14; UNLOAD E07-14; '
     'REPORT DONE TOTE-812'),
    ('Bring TOTE-55 from PACK-1 to PACK-6.',
     'NAVIGATE PACK-1; SCAN TOTE-55; LOAD TOTE-55; NAVIGATE PACK-6; UNLOAD PACK-6; '
     'REPORT DONE TOTE-55'),
    ('Count SKU-33120 at C15-02.',
     'NAVIGATE C15-02; SCAN C15-02; SCAN SKU-33120; REPORT COUNT SKU-33120'),
    ('Go charge at CHARGER-3.', 'NAVIGATE CHARGER-3; CHARGE CHARGER-3'),
    ('Return to STAGING-2 and park.', 'NAVIGATE STAGING-2; HALT'),
    ('Spill at D09-07, report it and wait at STAGING-1.',
     'REPORT SPILL D09-07; NAVIGATE STAGING-1; WAIT 60'),
    ('A11-04 is blocked, report it and go to STAGING-3.',
     'REPORT BLOCKED A11-04; NAVIGATE STAGING-3'),
    ("The label at F20-01 won't scan, retry then escalate to EXCEPTION-1.",
     'NAVIGATE F20-01; SCAN F20-01; SCAN F20-01; NAVIGATE EXCEPTION-1; REPORT MISSCAN F20-01'),
    ('Stop now.', 'HALT'),
]


@pytest.mark.parametrize('task,plan', DESIGN_CASES)
def test_design_examples(loaded, task, plan):
    gen, emb = loaded
    # as the pipeline asks it: with the rule planner's plan as the hint
    g = gen.generate(task, RobotState(), emb.encode(task), [], max_new_tokens=64,
                     hint=rule_hint(task))
    assert format_plan(g.steps) == plan
    assert 0.0 < g.confidence <= 1.0 and g.n_tokens >= 2 and g.generate_ms > 0


def test_the_generator_plans_the_task_as_asked_and_refuses_what_is_not_one(loaded):
    # the battery is the answer policy's business (test_answers): the task's own plan
    gen, emb = loaded
    task = 'Pick 3 units of SKU-48213 from A12-03 and bring them to PACK-4.'
    g = gen.generate(task, RobotState(battery_pct=5.0), emb.encode(task), [],
                     cfg=SafetyConfig(default_charger='CHARGER-7'), hint=rule_hint(task))
    assert format_plan(g.steps) == DESIGN_CASES[0][1] and not g.refusal
    task = 'What is the weather like in Seattle today?'
    g = gen.generate(task, RobotState(), emb.encode(task), [], hint=())
    assert g.refusal == 'not_understood' and not g.steps


def test_output_always_parses_or_raises(loaded):
    gen, emb = loaded
    rng = random.Random(3)
    words = ['pick', 'A01-02', 'tote 7', 'SKU-12345', 'to', 'from', 'PACK-3', '5', 'zzz',
             '\u00e9t\u00e9', 'wait', 'DOCK-99', 'bin', ';', 'REPORT', '', 'charger 21']
    for i in range(60):
        task = ' '.join(rng.choice(words) for _ in range(rng.randint(0, 30)))
        budget = rng.choice([1, 2, 3, 5, 64])
        try:
            g = gen.generate(task, RobotState(), emb.encode(task), [], max_new_tokens=budget)
        except GenerationError:
            assert budget < 2
            continue
        assert g.n_tokens <= budget
        if g.refusal:  # a refusal has no steps
            assert not g.steps
            continue
        assert parse_plan(format_plan(g.steps)) == list(g.steps)


def test_generate_rejects_missing_states(loaded):
    gen, _ = loaded
    with pytest.raises(GenerationError):
        gen.generate('Stop now.', RobotState(), None, [])


def test_runtime_does_not_import_torch():
    code = ('import sys; import rag_planner.generation.runtime, rag_planner.generation.augment; '
            'assert "torch" not in sys.modules, "torch imported"')
    subprocess.run([sys.executable, '-c', code], check=True,
                   cwd=str(Path(__file__).resolve().parents[1]))


def test_grammar_keeps_place_unload_charge_scan_where_the_robot_is():
    vocab = Vocab(('60',))
    rng = np.random.default_rng(2)
    task = 'bring TOTE-5 from PACK-1 to DOCK-2, charge at CHARGER-3, count SKU-12345 at A01-01'
    for _ in range(200):
        here = None
        for st in _random_decode(extract_candidates(task), vocab, rng, 64):
            if st.action == 'NAVIGATE':
                here = st.args[0]
            elif here and (st.action in ('PLACE', 'UNLOAD', 'CHARGE')
                           or (st.action == 'SCAN' and st.args[0][0] in 'ABCDEF'
                               and '-' in st.args[0] and st.args[0][1].isdigit())):
                assert st.args[0] == here, st


def test_generate_rejects_bad_states(loaded):
    gen, emb = loaded
    enc = emb.encode('Stop now.')

    class _Bad:
        token_states = np.zeros((5, 17), np.float32)
        token_ids = enc.token_ids[:5]
        offsets = enc.offsets[:5]

    with pytest.raises(GenerationError):
        gen.generate('Stop now.', RobotState(), _Bad(), [])

    class _NaN:
        token_states = np.full_like(enc.token_states, np.nan)
        token_ids = enc.token_ids
        offsets = enc.offsets

    with pytest.raises(GenerationError):
        gen.generate('Stop now.', RobotState(), _NaN(), [])
