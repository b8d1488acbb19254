"""Tests of the retrieval stage: cache, HNSW, exact fallback, baseline planner, build_index."""

import time

import numpy as np
import pytest

from rag_planner.domain.answers import Fallback
from rag_planner.domain.entities import extract_entities
from rag_planner.domain.plan_grammar import format_plan
from rag_planner.domain.robot_state import RobotState
from rag_planner.domain.safety import SafetyConfig, validate_plan
from rag_planner.planners.retrieval_baseline import (
    retrieval_plan, ShapePrior, task_shape, vote_family)
from rag_planner.retrieval.cache import PlanCache
from rag_planner.retrieval.embedder import Embedder
from rag_planner.retrieval.exact_knn import ExactKnn
from rag_planner.retrieval.hnsw_index import IndexLoadError, IndexParams, PlanIndex
from rag_planner.retrieval.index_build import build_index_dir, main, select_core
from rag_planner.retrieval.plan_library import make_entry, write_library
from rag_planner.retrieval.retriever import open_retriever, Retrieval, RetrievalError, Retriever
from rag_planner.serving.faults import FaultInjector, FaultSpec
from rag_planner.training.wording import generate_examples, split_templates


@pytest.fixture(scope='module')
def emb():
    return Embedder.load()


@pytest.fixture(scope='module')
def library():
    train, _ = split_templates(0)
    examples = generate_examples(220, 5, templates=train)
    return [make_entry('{}-{:04d}'.format(ex.family, i), ex.family, ex.task, ex.plan,
                       template=ex.template_id) for i, ex in enumerate(examples)]


@pytest.fixture(scope='module')
def parts(emb, library):
    vecs = emb.embed_batch([e.task for e in library])
    ids = [e.id for e in library]
    core = select_core(library, per_group=1)
    index = PlanIndex.build(vecs, ids, IndexParams(M=8, ef_construction=64, ef_search=32),
                            model_id=emb.model_id, library_version='t', core_ids=core)
    return index, ExactKnn(index.core_vectors, core), vecs


def _retriever(emb, library, parts, cache=True, **kw):
    index, knn, _ = parts
    return Retriever(emb, index, knn, PlanCache(capacity=64) if cache else None, library, **kw)


def test_select_core_covers_every_template(library):
    core = select_core(library, per_group=1)
    by_id = {e.id: e for e in library}
    assert {by_id[c].template for c in core} == {e.template for e in library}
    assert len(select_core(library, per_group=3, max_size=10)) == 10


def test_retrieve_then_cache(emb, library, parts):
    ret = _retriever(emb, library, parts)
    task = 'Pick 4 units of SKU-11111 from C03-04 and bring them to PACK-2.'
    first = ret.retrieve(task, k=5, budget_s=1.0)
    assert not first.cache_hit and not first.used_fallback
    assert len(first.ids) == 5 and len(first.entries) == 5
    assert list(first.scores) == sorted(first.scores, reverse=True)
    assert first.embed_ms > 0 and first.retrieve_ms > 0
    assert vote_family(first)[0] == 'pick'
    again = ret.retrieve(task.upper(), k=5, budget_s=1.0)
    assert again.cache_hit and again.cache_kind == 'exact' and again.ids == first.ids
    other_ids = ret.retrieve('Pick 9 units of SKU-22222 from D05-06 and bring them to PACK-7.',
                             k=5, budget_s=1.0)
    assert other_ids.cache_hit and other_ids.cache_kind == 'template'


def test_fallback_when_hnsw_raises(emb, library, parts):
    ret = _retriever(emb, library, parts, cache=False)

    def boom(vec, k):
        raise RuntimeError('index exploded')

    ret.index = type('Broken', (), {'query': staticmethod(boom), '__len__': lambda s: 1})()
    res = ret.retrieve('Go charge at CHARGER-3.', k=3, budget_s=1.0)
    assert res.used_fallback and 'index exploded' in res.fallback_reason
    assert vote_family(res)[0] == 'charge'


def test_fallback_when_budget_spent(emb, library, parts):
    ret = _retriever(emb, library, parts, cache=False)
    res = ret.retrieve('Go charge at CHARGER-3.', k=3, budget_s=0.0)
    assert res.used_fallback and res.fallback_reason.startswith('budget')


def test_fallback_when_hnsw_too_slow(emb, library, parts):
    ret = _retriever(emb, library, parts, cache=False, hnsw_timeout_s=0.02)
    real = ret.index

    class Slow:
        def query(self, vec, k):
            time.sleep(0.3)
            return real.query(vec, k)

        def __len__(self):
            return len(real)

    ret.index = Slow()
    t0 = time.perf_counter()
    res = ret.retrieve('Stop now.', k=3, budget_s=1.0)
    assert time.perf_counter() - t0 < 0.2
    assert res.used_fallback and 'exceeded' in res.fallback_reason
    ret.close()


def test_no_fallback_available(emb, library, parts):
    ret = Retriever(emb, None, None, None, library)
    with pytest.raises(RetrievalError):
        ret.retrieve('Stop now.', k=3, budget_s=1.0)


def test_warm_and_persist(emb, library, parts, tmp_path):
    index, knn, _ = parts
    ret = Retriever.from_parts(emb, index, library, cache_capacity=1000)
    assert len(ret.cache) > 0
    hit = ret.retrieve(library[0].task, k=5, budget_s=1.0)
    assert hit.cache_hit and hit.ids[0] == library[0].id
    ret.retrieve('Count SKU-33120 at C15-02, zzz unusual words', k=5, budget_s=1.0)
    path = tmp_path / 'recent.json'
    assert ret.save_recent(path) >= 1
    again = Retriever.from_parts(emb, index, library, cache_capacity=1000, recent_path=path)
    res = again.retrieve('count sku-33120 at c15-02, zzz unusual words', k=5, budget_s=1.0)
    assert res.cache_hit


def test_retrieval_plan_is_valid(emb, library, parts):
    ret = _retriever(emb, library, parts, cache=False)
    cfg, state = SafetyConfig(), RobotState()
    task = 'Take TOTE-812 from DOCK-2 and store it at E07-14.'
    steps = retrieval_plan(task, state, cfg, ret.retrieve(task, k=5, budget_s=1.0))
    assert format_plan(steps) == ('NAVIGATE DOCK-2; SCAN TOTE-812; LOAD TOTE-812; '
                                  'NAVIGATE E07-14; UNLOAD E07-14; REPORT DONE TOTE-812')
    assert validate_plan(steps, state, cfg).ok


def test_build_index_tool(emb, library, tmp_path):
    lib_path = write_library(tmp_path / 'lib.jsonl', library[:60], 'v9')
    index = build_index_dir(lib_path, tmp_path / 'idx', embedder=emb)
    loaded = PlanIndex.load(tmp_path / 'idx', expected_model_id=emb.model_id,
                            expected_library_version='v9')
    assert len(loaded) == 60 and loaded.meta.core_ids == index.meta.core_ids
    vec = emb.embed(library[3].task)
    assert loaded.query(vec, 1)[0][0] == library[3].id
    with pytest.raises(IndexLoadError, match='library version'):
        PlanIndex.load(tmp_path / 'idx', expected_library_version='v10')
    bad = tmp_path / 'bad.jsonl'
    bad.write_text(lib_path.read_text().replace('"plan": "', '"plan": "PICK SKU-12345 50; ', 1))
    assert main(['--library', str(bad), '--out', str(tmp_path / 'x'), '--quiet']) == 2
    assert not (tmp_path / 'x' / 'manifest.json').exists()


def test_vectors_of_index_match_embedder(emb, library, parts):
    index, _, vecs = parts
    got = index.get_vectors([library[1].id])[0]
    assert float(np.dot(got, vecs[1])) > 0.9999


def test_open_retriever_builds_then_verifies(emb, library, tmp_path):
    lib_path = write_library(tmp_path / 'lib.jsonl', library[:40], 'v1')
    idx = tmp_path / 'idx'
    ret = open_retriever(lib_path, idx, embedder=emb, cache_capacity=100)
    assert (idx / 'manifest.json').is_file() and len(ret.index) == 40
    assert ret.retrieve(library[5].task, k=3, budget_s=1.0).ids[0] == library[5].id
    write_library(lib_path, library[:41], 'v2')
    with pytest.raises(IndexLoadError, match='library version'):
        open_retriever(lib_path, idx, embedder=emb)
    (idx / 'index.bin').write_bytes(b'junk')
    write_library(lib_path, library[:40], 'v1')
    with pytest.raises(IndexLoadError, match='truncated'):
        open_retriever(lib_path, idx, embedder=emb)


def test_faults_behind_the_stage_wrappers(emb, library, parts):
    """The fault injector's seam: a faulty index falls back to exact k-NN, typed."""
    index, knn, _ = parts
    faults = FaultInjector()
    ret = Retriever(faults.wrap('embed', emb), faults.wrap('retrieve', index), knn, None,
                    library, hnsw_timeout_s=0.05)
    faults.set(FaultSpec(stage='retrieve', mode='error'))
    res = ret.retrieve('Go charge at CHARGER-3.', k=3, budget_s=1.0)
    assert res.used_fallback and 'injected' in res.fallback_reason
    assert res.fallback == Fallback.STAGE_ERROR
    faults.set(FaultSpec(stage='retrieve', mode='hang'))
    t0 = time.perf_counter()
    res = ret.retrieve('Go charge at CHARGER-3.', k=3, budget_s=1.0)
    assert res.used_fallback and time.perf_counter() - t0 < 0.5
    assert res.fallback == Fallback.STAGE_TIMEOUT
    faults.set(FaultSpec())  # releases the hung worker
    res = ret.retrieve('Go charge at CHARGER-3.', k=3, budget_s=1.0)
    assert not res.used_fallback and res.fallback == Fallback.NONE
    faults.set(FaultSpec(stage='embed', mode='error'))
    with pytest.raises(RuntimeError, match='injected'):
        ret.retrieve('Stop now.', k=3, budget_s=1.0)
    faults.set(FaultSpec(stage='embed', mode='garbage'))
    assert not np.all(np.isfinite(ret.retrieve('Stop now.', k=3, budget_s=1.0).vector))
    faults.set(FaultSpec(stage='retrieve', mode='garbage'))
    assert not ret.retrieve('Go charge at CHARGER-3.', k=3, budget_s=1.0).entries
    faults.release()
    ret.close()


def test_shape_prior_breaks_wording_ties(library):
    prior = ShapePrior.fit(library)
    task = 'Move 12 units of SKU-10077 from reserve B30-11 to forward bin B02-05.'
    shape = task_shape(extract_entities(task))
    assert prior.likelihood('replenish', shape) > prior.likelihood('pick', shape)
    by_family = {}
    for entry in library:
        by_family.setdefault(entry.family, entry)
    # the wording looks like a pick (higher score) but the ids fit a replenishment
    ret = Retrieval(ids=('a', 'b'), scores=(0.8, 0.7),
                    entries=(by_family['pick'], by_family['replenish']))
    assert vote_family(ret)[0] == 'pick'
    steps = retrieval_plan(task, RobotState(), SafetyConfig(), ret, prior)
    assert format_plan(steps).startswith('NAVIGATE B30-11; SCAN B30-11; PICK SKU-10077 12; '
                                         'NAVIGATE B02-05; SCAN B02-05')
    with pytest.raises(ValueError):
        retrieval_plan(task, RobotState(), SafetyConfig(),
                       Retrieval(ids=(), scores=(), entries=()))


def test_encoded_for_generator(emb, library, parts):
    ret = _retriever(emb, library, parts)
    task = 'Count SKU-33120 at C15-02.'
    miss = ret.retrieve(task, k=3, budget_s=1.0)
    assert miss.encoded.token_states.shape == (len(miss.encoded.token_ids), 384)
    assert np.allclose(miss.vector, emb.embed(task), atol=1e-6)
    hit = ret.retrieve(task, k=3, budget_s=1.0)
    assert hit.cache_hit and hit.encoded is None
    hit = ret.retrieve(task, k=3, budget_s=1.0, need_encoded=True)
    assert hit.cache_hit and hit.encoded is not None and hit.embed_ms > 0
