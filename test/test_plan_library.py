"""Tests of the plan library format, validation and round trip."""

import json

import pytest

from rag_planner.domain.plan_grammar import parse_plan
from rag_planner.domain.task_families import FAMILIES
from rag_planner.paths import default_library_path
from rag_planner.retrieval.plan_library import (
    check_library, LibraryError, make_entry, read_library, write_library)
from rag_planner.training.wording import split_templates, TEMPLATE_BY_ID

GOOD = [
    ('pick-1', 'pick', 'Pick 3 units of SKU-48213 from A12-03 and bring them to PACK-4.',
     'NAVIGATE A12-03; SCAN A12-03; PICK SKU-48213 3; NAVIGATE PACK-4; PLACE PACK-4; '
     'REPORT DONE SKU-48213'),
    ('transfer-1', 'transfer', 'Bring TOTE-55 from PACK-1 to PACK-6.',
     'NAVIGATE PACK-1; SCAN TOTE-55; LOAD TOTE-55; NAVIGATE PACK-6; UNLOAD PACK-6; '
     'REPORT DONE TOTE-55'),
    ('charge-1', 'charge', 'Go charge at CHARGER-3.', 'NAVIGATE CHARGER-3; CHARGE CHARGER-3'),
    ('stop-1', 'stop', 'Stop now.', 'HALT'),
]


def _entries():
    return [make_entry(i, f, t, parse_plan(p), source='test', template=f + '/00')
            for i, f, t, p in GOOD]


def test_roundtrip(tmp_path):
    path = write_library(tmp_path / 'lib.jsonl', _entries(), 'v-test')
    lib = read_library(path)
    assert lib.version == 'v-test' and len(lib) == 4
    assert [e.id for e in lib.entries] == [g[0] for g in GOOD]
    assert lib.entries[0].plan_text == GOOD[0][3]
    assert lib.entries[0].template == 'pick/00'
    assert lib.entries == tuple(_entries())
    assert read_library(path).entries == lib.entries
    header = json.loads(path.read_text().splitlines()[0])
    assert header['kind'] == 'header' and header['count'] == 4


def _write_raw(path, records):
    header = {'kind': 'header', 'format': 'rag_planner.plan_library/1', 'version': 'x'}
    path.write_text('\n'.join(json.dumps(r) for r in [header] + records) + '\n')
    return path


def _raw(entry_id, family, task, plan, **extra):
    rec = {'id': entry_id, 'family': family, 'task': task, 'plan': plan}
    rec.update(extra)
    return rec


def test_invalid_entry_is_named(tmp_path):
    bad = _raw('pick-bad', 'pick', 'pick without scan',
               'NAVIGATE A12-03; PICK SKU-48213 3; REPORT DONE SKU-48213')
    path = _write_raw(tmp_path / 'lib.jsonl', [_raw(*GOOD[0]), bad])
    with pytest.raises(LibraryError, match=r"lib.jsonl:3: entry 'pick-bad'.*rule 2"):
        read_library(path)


@pytest.mark.parametrize('record, pattern', [
    (_raw('x-1', 'pick', 't', 'FLY A12-03'), 'does not parse'),
    (_raw('x-1', 'dance', 't', 'HALT'), 'unknown family'),
    (_raw('x 1', 'stop', 't', 'HALT'), 'bad id'),
    (_raw('x-1', 'stop', '', 'HALT'), 'empty task'),
    (_raw('x-1', 'stop', 't', 'HALT', conditions={'speed': 3}), 'unknown condition'),
    ({'id': 'x-1', 'family': 'stop', 'task': 't'}, "missing key 'plan'"),
    (_raw('x-1', 'transfer', 't', 'NAVIGATE PACK-1; SCAN TOTE-5; LOAD TOTE-5',
          conditions={'carrying': True}), 'rule 3'),
])
def test_bad_records(tmp_path, record, pattern):
    path = _write_raw(tmp_path / 'lib.jsonl', [record])
    with pytest.raises(LibraryError, match=pattern):
        read_library(path)


def test_duplicate_ids_and_header(tmp_path):
    path = _write_raw(tmp_path / 'lib.jsonl', [_raw(*GOOD[3]), _raw(*GOOD[3])])
    with pytest.raises(LibraryError, match='duplicate id'):
        read_library(path)
    path.write_text(json.dumps(_raw(*GOOD[3])) + '\n')
    with pytest.raises(LibraryError, match='header'):
        read_library(path)
    path.write_text('{not json\n')
    with pytest.raises(LibraryError, match='not valid JSON'):
        read_library(path)
    with pytest.raises(LibraryError, match='cannot read'):
        read_library(tmp_path / 'absent.jsonl')


def test_write_refuses_invalid(tmp_path):
    bad = make_entry('stop-2', 'stop', 'Stop.', parse_plan('NAVIGATE A12-03; PICK SKU-48213 3'))
    with pytest.raises(LibraryError, match='stop-2'):
        write_library(tmp_path / 'lib.jsonl', _entries() + [bad], 'v')
    assert not (tmp_path / 'lib.jsonl').exists()
    problems = check_library(_entries() + [bad], collect=True)
    assert [p[0] for p in problems] == ['stop-2']


def test_shipped_library():
    lib = read_library(default_library_path())
    assert len(lib) >= 2000
    assert {e.family for e in lib.entries} == set(FAMILIES)
    assert lib.version


def test_shipped_library_holds_no_heldout_template():
    train, held = split_templates(0)
    templates = {e.template for e in read_library(default_library_path()).entries}
    assert templates <= set(TEMPLATE_BY_ID), 'library is stale: regenerate with make_library'
    assert not templates & set(held), 'held-out templates leaked: regenerate with make_library'
