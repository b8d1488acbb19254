"""
Signed generations and their reload (issue 12, item 4), in the core: no ROS.

One generation is built and signed per test session (conftest ``signed_generation``: make_
generation build); the others are copies of it, re-sealed, tampered with or signed by
another key.
"""

import json
from pathlib import Path
import shutil

import pytest

from rag_planner.domain.answers import ErrorCode
from rag_planner.domain.robot_state import RobotState
from rag_planner.params import PlannerConfig
from rag_planner.planners.factory import load_primary
from rag_planner.planners.generations import (
    BadSignature, DamagedGeneration, read_public_key, read_signing_key, seal_generation,
    SELFTEST, UnsignedGeneration, verify_generation)
from rag_planner.serving.engine import PlanningEngine
from rag_planner.serving.reload import GenerationReloader
from rag_planner.serving.request import PlanRequestData
from rag_planner.training.make_generation import build_generation, main

PICK = 'Pick 3 units of SKU-48213 from A12-03 and bring them to PACK-4.'
STATE = RobotState('r1', 'STAGING-1', 80.0, False, ())


@pytest.fixture(scope='module')
def made(signed_generation):
    return signed_generation


def _copy(made, name: str, generation_id: str = '', key=None) -> Path:
    out = made['root'] / name
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(made['gen'], out)
    if generation_id:
        seal_generation(out, generation_id, read_signing_key(key or made['private']))
    return out


def test_a_built_generation_verifies_and_names_its_parts(made):
    generation = verify_generation(made['gen'], read_public_key(made['public']))
    assert generation.generation_id == 'gen-a'
    files = generation.manifest['files']
    assert {'plan_library.jsonl', 'index/manifest.json', 'generator/manifest.json',
            SELFTEST} <= set(files)
    assert generation.manifest['selftest_cases'] >= 60
    assert main(['verify', str(made['gen']), '--public-key', str(made['public'])]) == 0


def test_unsigned_mis_signed_and_tampered_generations_are_refused(made):
    key = read_public_key(made['public'])
    with pytest.raises(UnsignedGeneration):
        verify_generation(made['gen'], None)
    unsigned = _copy(made, 'unsigned')
    (unsigned / 'generation.sig').unlink()
    with pytest.raises(UnsignedGeneration):
        verify_generation(unsigned, key)
    with pytest.raises(BadSignature):  # signed, but by a key the robot does not trust
        verify_generation(_copy(made, 'other_key', 'gen-x', made['other']), key)
    edited = _copy(made, 'edited_manifest')
    manifest = json.loads((edited / 'generation.json').read_text())
    manifest['generation_id'] = 'gen-evil'
    (edited / 'generation.json').write_text(json.dumps(manifest, indent=1, sort_keys=True))
    with pytest.raises(BadSignature):
        verify_generation(edited, key)
    library = _copy(made, 'tampered_library')
    with open(library / 'plan_library.jsonl', 'a') as handle:
        handle.write('\n')
    with pytest.raises(DamagedGeneration, match='plan_library.jsonl differs'):
        verify_generation(library, key)
    extra = _copy(made, 'extra_file')
    (extra / 'generator' / 'decoder_step.onnx.bak').write_bytes(b'x')
    with pytest.raises(DamagedGeneration, match='not in the signed manifest'):
        verify_generation(extra, key)
    assert main(['verify', str(library), '--public-key', str(made['public'])]) == 2


def test_a_generation_that_fails_its_self_test_is_never_signed(made, tmp_path):
    broken_model = tmp_path / 'model'
    shutil.copytree(made['gen'] / 'generator', broken_model)
    (broken_model / 'encoder.onnx').write_bytes(b'not a model')
    with pytest.raises(Exception, match='does not load'):
        build_generation(made['gen'] / 'plan_library.jsonl', tmp_path / 'g', made['private'],
                         model_dir=broken_model, log=lambda _: None)
    assert not (tmp_path / 'g').exists()


def _config(made, gen, **kw) -> PlannerConfig:
    return PlannerConfig.from_dict(dict(generation_dir=str(gen),
                                        generation_public_key=str(made['public']), **kw))


def test_a_start_loads_the_signed_generation_or_degrades_and_says_why(made, tmp_path):
    loaded = load_primary(_config(made, made['gen']), str(tmp_path), log=lambda _: None)
    assert loaded.generation == 'gen-a' and not loaded.notes
    assert loaded.planner.name == 'generated'
    loaded.planner.close()
    none = load_primary(_config(made, ''), str(tmp_path))
    assert none.planner.name == 'rule_based' and none.generation == ''
    assert 'generation_dir is empty' in none.notes[0]
    bad = load_primary(_config(made, _copy(made, 'other_key2', 'gen-y', made['other'])),
                       str(tmp_path))
    assert bad.planner.name == 'rule_based' and 'BadSignature' in bad.notes[0]


def test_reload_swaps_a_good_generation_and_refuses_a_tampered_one(made, tmp_path):
    current = tmp_path / 'current'
    current.symlink_to(made['gen'])
    config = _config(made, current)
    loaded = load_primary(config, str(tmp_path), log=lambda _: None)
    engine = PlanningEngine(config, loaded.planner, generation=loaded.generation)
    reloader = GenerationReloader(engine, str(tmp_path), lambda s, o: o, lambda _: None,
                                  loaded.verified, close_grace_s=0.1)
    try:
        first = engine.plan(PlanRequestData(PICK, STATE))
        assert first.success and first.generation == 'gen-a'
        # same files under a new id: a swap that keeps the caches
        current.unlink()
        current.symlink_to(_copy(made, 'gen_b', 'gen-b'))
        swapped = reloader.reload()
        assert swapped.ok and swapped.generation == 'gen-b', swapped.message
        assert 'caches kept: retrieval, skeletons' in swapped.message
        assert engine.plan(PlanRequestData(PICK, STATE)).generation == 'gen-b'
        # a library changed after signing: refused, gen-b keeps serving
        tampered = _copy(made, 'gen_t', 'gen-t')
        with open(tampered / 'plan_library.jsonl', 'a') as handle:
            handle.write('\n')
        current.unlink()
        current.symlink_to(tampered)
        refused = reloader.reload()
        assert not refused.ok and 'DamagedGeneration' in refused.message
        assert 'gen-b keeps serving' in refused.message and engine.generation == 'gen-b'
        # signed, but its self-test expects a wrong answer: refused
        wrong = _copy(made, 'gen_w')
        cases = (wrong / SELFTEST).read_text().splitlines()
        case = json.loads(cases[0])
        case['expect'] = {'code': 'NOT_UNDERSTOOD'} if case['expect']['code'] == 'NONE' else \
            {'code': 'NONE'}
        (wrong / SELFTEST).write_text('\n'.join([json.dumps(case)] + cases[1:]) + '\n')
        seal_generation(wrong, 'gen-w', read_signing_key(made['private']))
        current.unlink()
        current.symlink_to(wrong)
        failed = reloader.reload()
        assert not failed.ok and 'failed its self-test' in failed.message
        out = engine.plan(PlanRequestData(PICK, STATE))
        assert out.success and out.generation == 'gen-b'
        assert out.error == ErrorCode.NONE
    finally:
        reloader.close()
        engine.close()
