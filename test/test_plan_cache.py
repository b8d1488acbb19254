"""Tests of the LRU plan cache, its keys and its persistence."""

import json

import pytest

from rag_planner.domain.request import task_key
from rag_planner.retrieval.cache import CachedRetrieval, PlanCache, template_key

V1 = CachedRetrieval(('a', 'b'), (0.9, 0.8))
V2 = CachedRetrieval(('c',), (0.7,))


def test_keys():
    assert task_key('  Stop   NOW! ') == 'stop now'
    a = template_key('Pick 3 units of SKU-48213 from A12-03 and bring them to PACK-4.')
    b = template_key('pick 12 units of sku 10077 from b30-11 and bring them to pack-9')
    assert a == b == 'pick <n> units of <sku> from <bin> and bring them to <pack>'
    tote = template_key('Bring TOTE-55 from PACK-1 to PACK-6.')
    assert tote == 'bring <tote> from <pack> to <pack>'
    assert template_key('go charge at charger three') == 'go charge at <charger>'
    assert template_key('go to STAGING-2') != template_key('go to CHARGER-2')


def test_exact_then_template_hits():
    cache = PlanCache(capacity=10)
    cache.put('Go charge at CHARGER-3.', V1)
    hit = cache.get('go charge at charger-3')
    assert hit.kind == 'exact' and hit.value == V1
    hit = cache.get('Go charge at CHARGER-7.')
    assert hit.kind == 'template' and hit.value == V1
    assert cache.get('Stop now.') is None
    assert cache.stats()['hits_exact'] == 1 and cache.stats()['hits_template'] == 1
    assert cache.hit_ratio == 2 / 3


def test_template_key_can_be_off():
    cache = PlanCache(capacity=10, use_template_key=False)
    cache.put('Go charge at CHARGER-3.', V1)
    assert cache.get('Go charge at CHARGER-7.') is None


def test_capacity_zero_is_a_cache_that_is_off():
    # cache_size: 0 turns the cache off; it is no reason to drop the retrieval path
    cache = PlanCache(capacity=0)
    cache.put('Go charge at CHARGER-3.', V1)
    assert cache.get('Go charge at CHARGER-3.') is None and len(cache) == 0
    with pytest.raises(ValueError):
        PlanCache(capacity=-1)


def test_lru_eviction():
    cache = PlanCache(capacity=2, use_template_key=False)
    cache.put('one', V1)
    cache.put('two', V1)
    assert cache.get('one') is not None  # one is now most recent
    cache.put('three', V2)
    assert cache.get('two') is None
    assert cache.get('one') is not None and cache.get('three') is not None
    assert len(cache) == 2


def test_persist_recent(tmp_path):
    cache = PlanCache(capacity=10, fingerprint='fp1')
    cache.warm([('library task', V2)])
    cache.put('Served task A12-03', V1)
    path = tmp_path / 'recent.json'
    assert cache.save_recent(path) == 1  # warm-up entries are not "served"
    fresh = PlanCache(capacity=10, fingerprint='fp1')
    assert fresh.load_recent(path) == 1
    assert fresh.get('served task a12-03').value == V1
    other = PlanCache(capacity=10, fingerprint='fp2')
    assert other.load_recent(path) == 0
    path.write_text('{broken')
    assert PlanCache(fingerprint='fp1').load_recent(path) == 0
    assert PlanCache(fingerprint='fp1').load_recent(tmp_path / 'absent.json') == 0
    data = {'fingerprint': 'fp1', 'recent': [['x', [['a'], [0.5]]]]}
    path.write_text(json.dumps(data))
    assert PlanCache(fingerprint='fp1').load_recent(path) == 1
