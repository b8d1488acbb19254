"""Typed failures: each maps to its code in one place; a missing extra says what to install."""

import pytest

from rag_planner.domain.answers import ErrorCode, Fallback
from rag_planner.errors import (
    error_code_of, fallback_of, InvalidPlan, InvalidRequest, LoadError, MissingArgument,
    MissingExtra, NotUnderstood, require_extra, StageError, StageTimeout, TooLong,
    UnsafeTask)
from rag_planner.generation.runtime import GenerationError, GeneratorLoadError
from rag_planner.retrieval.embedder import ModelLoadError
from rag_planner.retrieval.hnsw_index import IndexLoadError
from rag_planner.retrieval.plan_library import LibraryError


@pytest.mark.parametrize('exc,fallback,code', [
    (StageTimeout('retrieve', 'slow'), Fallback.STAGE_TIMEOUT, ErrorCode.NONE),
    (StageError('generate', 'garbage'), Fallback.STAGE_ERROR, ErrorCode.NONE),
    (GenerationError('no plan'), Fallback.STAGE_ERROR, ErrorCode.NONE),
    (InvalidPlan('rule 5'), Fallback.INVALID_PLAN, ErrorCode.NONE),
    (ModelLoadError('missing'), Fallback.DEGRADED, ErrorCode.NONE),
    (IndexLoadError('tampered'), Fallback.DEGRADED, ErrorCode.NONE),
    (LibraryError('bad entry'), Fallback.DEGRADED, ErrorCode.NONE),
    (GeneratorLoadError('sha256'), Fallback.DEGRADED, ErrorCode.NONE),
    (InvalidRequest('empty'), Fallback.NONE, ErrorCode.INVALID_REQUEST),
    (NotUnderstood('weather'), Fallback.NONE, ErrorCode.NOT_UNDERSTOOD),
    (MissingArgument('no bin', slot='bin'), Fallback.NONE, ErrorCode.MISSING_ARGUMENT),
    (UnsafeTask('A12 blocked', rule=5, subject='A12-03'), Fallback.NONE,
     ErrorCode.UNSAFE_TASK),
    (TooLong('17 steps'), Fallback.NONE, ErrorCode.TOO_LONG),
    (RuntimeError('anything else'), Fallback.STAGE_ERROR, ErrorCode.NONE),
], ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else str(v))
def test_every_failure_maps_to_its_codes(exc, fallback, code):
    assert fallback_of(exc) == fallback
    assert error_code_of(exc) == code


def test_load_errors_are_one_family():
    for exc in (ModelLoadError, IndexLoadError, LibraryError, GeneratorLoadError):
        assert issubclass(exc, LoadError)
    assert issubclass(LibraryError, ValueError)  # callers that caught ValueError still do


def test_refusals_keep_their_detail():
    assert MissingArgument('pick: no bin', slot='bin').slot == 'bin'
    unsafe = UnsafeTask('PICK 500 over max_pick_qty 20', rule=2, subject='SKU-48213')
    assert (unsafe.rule, unsafe.subject) == (2, 'SKU-48213')


def test_a_missing_extra_names_what_to_install():
    require_extra('sim', 'json')  # present: nothing happens
    with pytest.raises(MissingExtra) as info:
        require_extra('sim', 'json', 'no_such_module_xyz', tool='bench')
    text = str(info.value)
    assert '\n' not in text
    assert text.startswith('bench: ') and 'no_such_module_xyz' in text
    assert 'requirements/sim.txt' in text and 'rag_planner[sim]' in text
