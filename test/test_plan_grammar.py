"""Tests for rag_planner.domain.plan_grammar."""

from hypothesis import given, settings
from hypothesis import strategies as st
import pytest

from rag_planner.domain.plan_grammar import (
    ACTIONS, BIN_RE, check_step, format_plan, id_kind, is_location,
    parse_plan, parse_step, PlanParseError, REPORT_CODES, SKU_RE, STATION_RE, Step, TOTE_RE)

PICK_PLAN = ('NAVIGATE A12-03; SCAN A12-03; PICK SKU-48213 3; NAVIGATE PACK-4; PLACE PACK-4; '
             'REPORT DONE SKU-48213')


def lines(steps) -> str:
    """The one-step-per-line written form (parse_plan accepts it)."""
    return '\n'.join(str(s) for s in steps)


def test_constants():
    assert ACTIONS == ('NAVIGATE', 'SCAN', 'PICK', 'PLACE', 'LOAD', 'UNLOAD', 'CHARGE', 'WAIT',
                       'HALT', 'REPORT')
    assert set(REPORT_CODES) == {'DONE', 'COUNT', 'SPILL', 'BLOCKED', 'MISSCAN', 'LOW_BATTERY'}


@pytest.mark.parametrize('tok,kind', [
    ('A12-03', 'bin'), ('a12-03', 'bin'), ('F40-20', 'bin'), ('A01-01', 'bin'),
    ('PACK-4', 'pack'), ('DOCK-20', 'dock'), ('CHARGER-1', 'charger'), ('staging-2', 'staging'),
    ('EXCEPTION-1', 'exception'), ('TOTE-1', 'tote'), ('TOTE-9999', 'tote'),
    ('SKU-00000', 'sku'), ('SKU-48213', 'sku'),
    ('G12-03', None), ('A41-03', None), ('A00-03', None), ('A12-21', None), ('A12-00', None),
    ('A1-3', None), ('PACK-0', None), ('PACK-21', None), ('PACK-04', None), ('TOTE-0', None),
    ('TOTE-10000', None), ('TOTE-055', None), ('SKU-4821', None), ('SKU-482131', None),
    ('HALT', None), ('', None), (None, None), (42, None), ('A12-03' * 10, None),
])
def test_id_kind(tok, kind):
    assert id_kind(tok) == kind


def test_regexes_and_is_location():
    assert BIN_RE.match('C15-02') and not BIN_RE.match('c15-02')
    assert STATION_RE.match('PACK-20') and not STATION_RE.match('PACK-20X')
    assert TOTE_RE.match('TOTE-55') and SKU_RE.match('SKU-10077')
    assert is_location('PACK-4') and is_location('a12-03')
    assert not is_location('TOTE-5') and not is_location('SKU-12345') and not is_location(None)


def test_parse_design_example_and_round_trip():
    steps = parse_plan(PICK_PLAN)
    assert steps[0] == Step('NAVIGATE', ('A12-03',))
    assert steps[2] == Step('PICK', ('SKU-48213', '3'))
    assert format_plan(steps) == PICK_PLAN
    assert parse_plan(lines(steps)) == steps


def test_parse_is_case_insensitive_and_tolerant_of_layout():
    text = '  navigate a12-03 ;scan a12-03\n\n pick sku-48213   3;\r\nhalt;  '
    assert format_plan(parse_plan(text)) == (
        'NAVIGATE A12-03; SCAN A12-03; PICK SKU-48213 3; HALT')


def test_step_str_and_list_args():
    s = Step('REPORT', ['DONE', 'SKU-48213'])
    assert s.args == ('DONE', 'SKU-48213')
    assert str(s) == 'REPORT DONE SKU-48213'
    assert str(Step('HALT')) == 'HALT'
    assert hash(s) == hash(Step('REPORT', ('DONE', 'SKU-48213')))


@pytest.mark.parametrize('text', [
    'HALT', 'WAIT 1', 'WAIT 600', 'REPORT DONE', 'REPORT LOW_BATTERY', 'REPORT COUNT SKU-33120',
    'REPORT SPILL D09-07', 'REPORT BLOCKED PACK-2', 'CHARGE CHARGER-3', 'LOAD TOTE-812',
    'UNLOAD E07-14', 'UNLOAD PACK-6', 'PLACE PACK-4', 'SCAN TOTE-55', 'SCAN SKU-33120',
    'SCAN C15-02', 'NAVIGATE EXCEPTION-20', 'PICK SKU-48213 0', 'PICK SKU-48213 999',
])
def test_good_steps(text):
    step = parse_step(text)
    assert str(step) == text
    assert check_step(step) is None


@pytest.mark.parametrize('text,msg', [
    ('', 'empty'), ('FLY A12-03', 'unknown action'), ('HALT NOW', 'takes 0'),
    ('NAVIGATE', 'takes 1'), ('NAVIGATE A12-03 B01-01', 'takes 1'),
    ('NAVIGATE TOTE-5', 'location'), ('NAVIGATE G12-03', 'location'),
    ('SCAN PACK-4', 'bin'), ('PICK A12-03 3', 'sku'), ('PICK SKU-48213', 'takes 2'),
    ('PICK SKU-48213 -3', 'quantity'), ('PICK SKU-48213 three', 'quantity'),
    ('PICK SKU-48213 1000', 'quantity'), ('PICK SKU-48213 03', 'quantity'),
    ('LOAD A12-03', 'tote'), ('CHARGE PACK-1', 'charger'), ('WAIT 0', 'seconds'),
    ('WAIT 601', 'seconds'), ('WAIT 1.5', 'seconds'), ('REPORT', 'takes 1-2'),
    ('REPORT OK', 'unknown code'), ('REPORT DONE hello', 'subject'),
    ('REPORT DONE A12-03 A12-03', 'takes 1-2'), ('NAVIGATE ' + 'A' * 300, 'longer'),
])
def test_bad_steps(text, msg):
    with pytest.raises(PlanParseError, match=msg):
        parse_step(text)


def test_parse_plan_errors_name_the_step():
    with pytest.raises(PlanParseError, match='step 2'):
        parse_plan('NAVIGATE A12-03; SCAN PACK-4; HALT')
    with pytest.raises(PlanParseError, match='empty plan'):
        parse_plan(' ; \n ')
    with pytest.raises(PlanParseError, match='max_steps'):
        parse_plan('; '.join(['WAIT 1'] * 17))
    assert len(parse_plan('; '.join(['WAIT 1'] * 17), max_steps=17)) == 17
    with pytest.raises(PlanParseError):
        parse_plan(None)
    with pytest.raises(PlanParseError):
        parse_step(5)


def test_check_step_catches_hand_built_steps():
    assert check_step(Step('NAVIGATE', ('a12-03',))) is not None
    assert check_step(Step('navigate', ('A12-03',))) is not None
    assert check_step(Step('NAVIGATE', (5,))) is not None
    assert check_step('HALT') is not None
    assert check_step(Step('NAVIGATE', ('A12-03',))) is None


# ---------------------------------------------------------------- property test
_bins = st.builds(lambda z, a, b: f'{z}{a:02d}-{b:02d}', st.sampled_from('ABCDEF'),
                  st.integers(1, 40), st.integers(1, 20))
_stations = st.builds(lambda k, n: f'{k}-{n}',
                      st.sampled_from(['PACK', 'DOCK', 'CHARGER', 'STAGING', 'EXCEPTION']),
                      st.integers(1, 20))
_totes = st.integers(1, 9999).map(lambda n: f'TOTE-{n}')
_skus = st.integers(0, 99999).map(lambda n: f'SKU-{n:05d}')
_locs = st.one_of(_bins, _stations)
_any_id = st.one_of(_bins, _stations, _totes, _skus)
_steps = st.one_of(
    _locs.map(lambda x: Step('NAVIGATE', (x,))),
    st.one_of(_bins, _totes, _skus).map(lambda x: Step('SCAN', (x,))),
    st.tuples(_skus, st.integers(0, 999)).map(lambda t: Step('PICK', (t[0], str(t[1])))),
    _locs.map(lambda x: Step('PLACE', (x,))),
    _totes.map(lambda x: Step('LOAD', (x,))),
    _locs.map(lambda x: Step('UNLOAD', (x,))),
    st.integers(1, 20).map(lambda n: Step('CHARGE', (f'CHARGER-{n}',))),
    st.integers(1, 600).map(lambda n: Step('WAIT', (str(n),))),
    st.just(Step('HALT')),
    st.tuples(st.sampled_from(REPORT_CODES), st.one_of(st.none(), _any_id)).map(
        lambda t: Step('REPORT', (t[0],) if t[1] is None else t)),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_steps, min_size=1, max_size=16))
def test_round_trip_property(steps):
    assert parse_plan(format_plan(steps)) == steps
    assert parse_plan(lines(steps).lower()) == steps
    assert all(check_step(s) is None for s in steps)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_parse_never_crashes_on_garbage(text):
    try:
        steps = parse_plan(text)
    except PlanParseError:
        return
    assert parse_plan(format_plan(steps)) == steps
