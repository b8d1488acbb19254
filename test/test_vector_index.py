"""Tests of the HNSW plan index, its manifest checks and the exact k-NN fallback."""

import hashlib
import json

import numpy as np
import pytest

from rag_planner.retrieval.exact_knn import ExactKnn
from rag_planner.retrieval.hnsw_index import IndexLoadError, IndexParams, PlanIndex


def _data(n=400, dim=384, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(20, dim))
    vecs = centers[rng.integers(0, 20, n)] + 0.3 * rng.normal(size=(n, dim))
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    return vecs.astype(np.float32), ['e{:04d}'.format(i) for i in range(n)]


@pytest.fixture()
def built(tmp_path):
    vecs, ids = _data()
    index = PlanIndex.build(vecs, ids, IndexParams(M=8, ef_construction=64, ef_search=32),
                            model_id='model-x', library_version='v1', core_ids=ids[:50])
    out = index.save(tmp_path / 'idx')
    return index, out, vecs, ids


def test_query_matches_exact(built):
    index, _, vecs, ids = built
    knn = ExactKnn(vecs, ids)
    hits = 0
    for q in vecs[:50]:
        got = {i for i, _ in index.query(q, 10)}
        want = {i for i, _ in knn.query(q, 10)}
        hits += len(got & want)
    assert hits / 500 >= 0.95
    top = index.query(vecs[3], 1)[0]
    assert top[0] == ids[3] and top[1] == pytest.approx(1.0, abs=1e-4)


def test_roundtrip(built):
    index, out, vecs, ids = built
    loaded = PlanIndex.load(out, expected_model_id='model-x', expected_library_version='v1')
    assert len(loaded) == len(index) and loaded.ids == ids
    assert loaded.meta.params == index.meta.params
    assert loaded.query(vecs[7], 5) == index.query(vecs[7], 5)
    assert loaded.core_vectors.shape == (50, 384)
    manifest = json.loads((out / 'manifest.json').read_text())
    assert set(manifest['files']) == {'index.bin', 'meta.json', 'core.npy'}
    assert manifest['embedder_model_id'] == 'model-x' and manifest['library_version'] == 'v1'
    assert manifest['params']['M'] == 8


def test_missing_dir(tmp_path):
    with pytest.raises(IndexLoadError, match='does not exist'):
        PlanIndex.load(tmp_path / 'none')


@pytest.mark.parametrize('name', ['index.bin', 'meta.json', 'manifest.json', 'core.npy'])
def test_missing_file(built, name):
    _, out, _, _ = built
    (out / name).unlink()
    with pytest.raises(IndexLoadError, match='missing'):
        PlanIndex.load(out)


def test_truncated_index(built):
    _, out, _, _ = built
    data = (out / 'index.bin').read_bytes()
    (out / 'index.bin').write_bytes(data[:len(data) // 2])
    with pytest.raises(IndexLoadError, match='truncated'):
        PlanIndex.load(out)


def test_tampered_index_same_size(built):
    _, out, _, _ = built
    data = bytearray((out / 'index.bin').read_bytes())
    data[len(data) // 3] ^= 0x55
    (out / 'index.bin').write_bytes(bytes(data))
    with pytest.raises(IndexLoadError, match='sha256'):
        PlanIndex.load(out)


def test_tampered_meta(built):
    _, out, _, _ = built
    meta = json.loads((out / 'meta.json').read_text())
    meta['ids'][0], meta['ids'][1] = meta['ids'][1], meta['ids'][0]
    (out / 'meta.json').write_text(json.dumps(meta))
    with pytest.raises(IndexLoadError):
        PlanIndex.load(out)


def test_corrupt_manifest(built):
    _, out, _, _ = built
    (out / 'manifest.json').write_text('{"format": ')
    with pytest.raises(IndexLoadError, match='corrupt'):
        PlanIndex.load(out)


def test_garbage_with_forged_manifest(built):
    """A forged manifest that matches garbage passes the hashes, hnswlib must not crash us."""
    _, out, _, _ = built
    junk = b'\x01' * 64
    (out / 'index.bin').write_bytes(junk)
    manifest = json.loads((out / 'manifest.json').read_text())
    manifest['files']['index.bin'] = {'sha256': hashlib.sha256(junk).hexdigest(),
                                      'bytes': len(junk)}
    (out / 'manifest.json').write_text(json.dumps(manifest))
    with pytest.raises(IndexLoadError):
        PlanIndex.load(out)


def test_mismatched_model_and_library(built):
    _, out, _, _ = built
    with pytest.raises(IndexLoadError, match='embedder'):
        PlanIndex.load(out, expected_model_id='other-model')
    with pytest.raises(IndexLoadError, match='library version'):
        PlanIndex.load(out, expected_library_version='v2')


def test_build_rejects_bad_input():
    vecs, ids = _data(20)
    with pytest.raises(ValueError):
        PlanIndex.build(vecs, ids[:10])
    with pytest.raises(ValueError):
        PlanIndex.build(vecs, ['same'] * 20)
    with pytest.raises(ValueError):
        IndexParams.from_dict({'M': 16, 'bogus': 1})


def test_exact_knn():
    vecs, ids = _data(100)
    knn = ExactKnn(vecs * 3.0, ids)
    res = knn.query(vecs[5], 3)
    assert res[0][0] == ids[5] and res[0][1] == pytest.approx(1.0, abs=1e-5)
    assert [s for _, s in res] == sorted([s for _, s in res], reverse=True)
    labels, scores = knn.query_labels(vecs[:4], 2)
    assert labels[:, 0].tolist() == [0, 1, 2, 3]
    assert len(knn.query(vecs[0], 1000)) == 100
    with pytest.raises(ValueError):
        ExactKnn(vecs, ids[:5])
