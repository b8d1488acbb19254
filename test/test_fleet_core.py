"""Unit tests of the fleet simulation core (rag_planner.sim): no ROS, no clocks."""

import json
import math
import random

import pytest

from rag_planner.domain.answers import ErrorCode, Fallback
from rag_planner.domain.plan_grammar import parse_plan
from rag_planner.domain.robot_state import RobotState
from rag_planner.domain.safety import validate_plan
from rag_planner.sim import arrivals, expected, faultlog, plots, stats, timeline, world
from rag_planner.sim.llm_baseline import build_prompt, lexical_neighbours
from rag_planner.sim.mcap_log import McapLog
from rag_planner.sim.records import RequestRecord
from rag_planner.sim.scenario import FleetScenario, ScenarioConfig
from rag_planner.training.wording import split_templates

PICK = parse_plan('NAVIGATE A12-03; SCAN A12-03; PICK SKU-48213 3; NAVIGATE PACK-4; '
                  'PLACE PACK-4; REPORT DONE SKU-48213')
PUTAWAY = parse_plan('NAVIGATE DOCK-2; SCAN TOTE-812; LOAD TOTE-812; NAVIGATE E07-14; '
                     'UNLOAD E07-14; REPORT DONE TOTE-812')


# ------------------------------------------------------------------------- world
def test_apply_plan_moves_drains_and_charges():
    cfg = world.WorldConfig(nav_drain_pct=2.0, step_drain_pct=0.5, idle_drain_pct_s=0.0)
    robot = world.RobotSim('r0', location='STAGING-1', battery_pct=50.0)
    world.apply_plan(robot, PICK, now=10.0, config=cfg)
    assert robot.location == 'PACK-4'
    assert robot.battery_pct == pytest.approx(50.0 - 2 * 2.0 - 4 * 0.5)
    assert robot.busy_until == pytest.approx(10.0 + world.plan_duration_s(PICK, cfg))
    world.apply_plan(robot, parse_plan('NAVIGATE CHARGER-2; CHARGE CHARGER-2'), 20.0, cfg)
    assert robot.location == 'CHARGER-2' and robot.battery_pct == 100.0
    assert robot.plans_done == 2


def test_load_and_unload_set_carrying_and_idle_drains():
    cfg = world.WorldConfig(idle_drain_pct_s=0.1)
    robot = world.RobotSim('r0', battery_pct=80.0)
    world.apply_plan(robot, PUTAWAY[:3], 0.0, cfg)
    assert robot.carrying
    world.apply_plan(robot, PUTAWAY[3:], 0.0, cfg)
    assert not robot.carrying and robot.location == 'E07-14'
    before = robot.battery_pct
    world.idle(robot, 100.0, cfg)
    assert robot.battery_pct == pytest.approx(before - 10.0)
    world.idle(robot, 50.0, cfg)          # time never runs backwards
    assert robot.battery_pct == pytest.approx(before - 10.0)


def test_battery_stays_in_range():
    robot = world.RobotSim('r0', battery_pct=1.0)
    world.apply_plan(robot, PICK * 2, 0.0)
    assert robot.battery_pct == 0.0
    assert robot.state().battery_pct == 0.0


@pytest.mark.parametrize('location,zone', [('C04-11', 'C04'), ('PACK-2', 'PACK-2'),
                                           ('TOTE-5', None), ('nonsense', None)])
def test_zone_of(location, zone):
    assert world.zone_of(location) == zone


def test_blocked_zones_come_and_go_and_spare_chargers():
    cfg = world.WorldConfig(block_rate_hz=0.5, block_mean_s=5.0, max_blocked=3)
    zones = world.BlockedZones(cfg, random.Random(3))
    seen = set()
    for t in range(1, 400):
        zones.advance(float(t), ['C04-11', 'CHARGER-1', 'PACK-2', 'A01-01'])
        assert len(zones.blocked()) <= 3
        assert not any(z.startswith('CHARGER') for z in zones.blocked())
        seen.update(zones.blocked())
    kinds = {kind for _, kind, _ in zones.history}
    assert kinds == {'block', 'clear'}
    assert seen <= {'C04', 'C0', 'PACK-2', 'A01', 'A0'}
    again = world.BlockedZones(cfg, random.Random(3))
    for t in range(1, 400):
        again.advance(float(t), ['C04-11', 'CHARGER-1', 'PACK-2', 'A01-01'])
    assert again.history == zones.history


def test_world_config_rejects_nonsense():
    with pytest.raises(ValueError):
        world.WorldConfig(nav_drain_pct=-1.0)
    with pytest.raises(ValueError):
        world.WorldConfig(start_battery=(90.0, 10.0))


# ---------------------------------------------------------------------- arrivals
def test_poisson_rate_and_determinism():
    times = arrivals.poisson_times(5.0, 2000.0, random.Random(1))
    assert len(times) / 2000.0 == pytest.approx(5.0, rel=0.05)
    assert times == sorted(times) and all(0 <= t < 2000.0 for t in times)
    assert times == arrivals.poisson_times(5.0, 2000.0, random.Random(1))
    gaps = [b - a for a, b in zip(times, times[1:])]
    mean = sum(gaps) / len(gaps)
    cv = math.sqrt(sum((g - mean) ** 2 for g in gaps) / len(gaps)) / mean
    assert cv == pytest.approx(1.0, abs=0.1)   # exponential gaps
    assert arrivals.poisson_times(0.0, 10.0, random.Random(1)) == []
    with pytest.raises(ValueError):
        arrivals.poisson_times(-1.0, 10.0, random.Random(1))


def test_fleet_arrivals_merge_robots_in_time_order():
    merged = arrivals.fleet_arrivals(3, 2.0, 10.0, seed=4, process='periodic')
    assert len(merged) == 3 * 20
    assert [a.t for a in merged] == sorted(a.t for a in merged)
    assert {a.robot_index for a in merged} == {0, 1, 2}
    poisson = arrivals.fleet_arrivals(3, 2.0, 10.0, seed=4)
    assert poisson == arrivals.fleet_arrivals(3, 2.0, 10.0, seed=4)
    with pytest.raises(ValueError):
        arrivals.fleet_arrivals(3, 2.0, 10.0, seed=4, process='bursty')


def take(feed, n):
    return [feed.next() for _ in range(n)]


def test_task_feed_draws_heldout_templates_deterministically():
    _, held = split_templates(0)
    feed = arrivals.TaskFeed(seed=5, templates='heldout', chunk=16)
    examples = take(feed, 40)           # crosses chunk boundaries
    assert all(e.template_id in held for e in examples)
    assert [e.task for e in examples] == \
        [e.task for e in take(arrivals.TaskFeed(seed=5, templates='heldout', chunk=16), 40)]
    for e in examples:
        assert validate_plan(list(e.plan), RobotState()).ok
    with pytest.raises(ValueError):
        arrivals.template_ids('some')


# ---------------------------------------------------------------------- timeline
def test_parse_written_timeline_and_transitions():
    events = timeline.parse_timeline('150+30:retrieve:delay:200, 60+30:embed:hang')
    assert [e.start_s for e in events] == [60.0, 150.0]
    assert events[1].delay_ms == 200.0 and events[1].label == 'retrieve delay 200 ms'
    steps = timeline.transitions(events)
    assert [(t, p['fault.stage']) for t, p, _ in steps] == \
        [(60.0, 'embed'), (90.0, ''), (150.0, 'retrieve'), (180.0, '')]


def test_parse_yaml_timeline():
    doc = '- {start_s: 5, duration_s: 2, stage: generate, mode: garbage}\n- 10+1:embed:error\n'
    events = timeline.parse_timeline(doc)
    assert [(e.stage, e.mode) for e in events] == [('generate', 'garbage'), ('embed', 'error')]
    assert timeline.parse_timeline('') == []


@pytest.mark.parametrize('spec', ['10+5:retrieve:explode', '10+5:plan:hang', '10:embed:hang',
                                  'x+5:embed:hang', '10+5:embed:hang,12+5:retrieve:hang',
                                  '10+0:embed:hang'])
def test_bad_timelines_are_rejected(spec):
    with pytest.raises(ValueError):
        timeline.parse_timeline(spec)


def test_default_shift_timeline_fits_the_shift():
    events = timeline.default_shift_timeline(600.0)
    assert len(events) == 5
    assert events[0].start_s > 0 and events[-1].end_s < 600.0
    assert {e.stage for e in events} == {'embed', 'retrieve', 'generate'}


def test_forces_fallback_follows_pipeline_and_budgets():
    budgets = {'deadline_ms': 150.0, 'fallback_reserve_ms': 8.0, 'retrieval_timeout_ms': 120.0,
               'retrieve_budget_ms': 10.0, 'generate_budget_ms': 60.0}
    hang = timeline.FaultEvent(0, 1, 'retrieve', 'hang')
    assert hang.forces_fallback('retrieved', budgets) is True
    assert hang.forces_fallback('rule_based', budgets) is False
    assert hang.forces_fallback('retrieved', budgets, cache_hit=True) is None
    gen = timeline.FaultEvent(0, 1, 'generate', 'hang')
    assert gen.forces_fallback('retrieved', budgets) is False
    assert gen.forces_fallback('generated', budgets, cache_hit=True) is True
    assert timeline.FaultEvent(0, 1, 'generate', 'delay', 200).forces_fallback(
        'generated', budgets) is True
    assert timeline.FaultEvent(0, 1, 'generate', 'delay', 5).forces_fallback(
        'generated', budgets) is False
    assert timeline.FaultEvent(0, 1, 'generate', 'delay', 60).forces_fallback(
        'generated', budgets) is None
    assert timeline.FaultEvent(0, 1, 'generate', 'garbage').forces_fallback(
        'generated', budgets) is True
    assert timeline.FaultEvent(0, 1, 'embed', 'garbage').forces_fallback(
        'generated', budgets) is None


# ---------------------------------------------------------------------- expected
def test_expected_answer_under_state():
    task = 'Pick 3 units of SKU-48213 from A12-03 and bring them to PACK-4.'
    healthy = RobotState(robot_id='r', location='DOCK-1', battery_pct=80.0)
    assert expected.expected_answer(task, PICK, healthy) == (ErrorCode.NONE, tuple(PICK))
    low = RobotState(robot_id='r', battery_pct=5.0)
    assert expected.expected_answer(task, PICK, low) == \
        (ErrorCode.NONE, tuple(parse_plan('NAVIGATE CHARGER-1; CHARGE CHARGER-1')) + tuple(PICK))
    assert expected.expected_answer('Stop now.', parse_plan('HALT'), low) == \
        (ErrorCode.NONE, tuple(parse_plan('HALT')))
    low_blocked = RobotState(robot_id='r', battery_pct=5.0, blocked=('CHARGER-1',))
    assert expected.expected_answer(task, PICK, low_blocked) == \
        (ErrorCode.UNSAFE_TASK, tuple(parse_plan('HALT')))
    blocked = RobotState(robot_id='r', battery_pct=80.0, blocked=('A12',))
    assert expected.expected_answer(task, PICK, blocked)[0] == ErrorCode.UNSAFE_TASK
    with pytest.raises(ValueError):   # a wrong plan for the task is a bug of the generator
        expected.expected_answer('Count SKU-33120 at C15-02.', PICK, healthy)


# ----------------------------------------------------------------------- scenario
def test_scenario_hands_out_every_arrival_once_and_robots_evolve():
    cfg = ScenarioConfig(robots=3, rate_hz=1.0, duration_s=30.0, seed=2)
    sc = FleetScenario(cfg)
    total = sc.total
    seen = []
    for t in range(0, 31):
        for due in sc.due(float(t)):
            seen.append(due.index)
            assert due.state.robot_id == due.robot.robot_id
            sc.answered(due.robot, due.expected, float(t))
    assert seen == list(range(total)) and sc.remaining == 0
    assert sum(r['plans_done'] for r in sc.robot_summary()) == total
    again = FleetScenario(cfg)
    assert [d.example.task for d in again.due(math.inf)] == \
        [d.example.task for d in FleetScenario(cfg).due(math.inf)]


def test_static_scenario_sends_healthy_states():
    sc = FleetScenario(ScenarioConfig(robots=2, rate_hz=2.0, duration_s=5.0, evolve=False))
    for due in sc.due(math.inf):
        assert due.state.battery_pct == 100.0 and due.state.blocked == ()
        assert due.expected == tuple(due.example.plan)


# ---------------------------------------------------------------------- statistics
def _record(i, rtt, **kw):
    base = dict(planner='p', robot_id=f'r{i % 2}', request_id=str(i), interface='service',
                family='pick', template_id='pick/00', task='t', sent=i * 0.1)
    base.update(kw)
    return RequestRecord(**base, answered=rtt is not None,
                         rtt_ms=rtt if rtt is not None else float('nan'))


def test_summarize_counts_and_percentiles():
    records = [_record(i, float(i + 1), server_ms=float(i), valid=True, exact=i % 2 == 0)
               for i in range(100)]
    records.append(_record(100, None))
    records[5].valid = False
    for r in records:
        r.fallback_code = 0
    records[7].fallback_code = Fallback.STAGE_TIMEOUT
    records[8].error_code = ErrorCode.NOT_UNDERSTOOD
    s = stats.summarize(records, wall_s=10.0, deadline_ms=50.0, grace_ms=10.0)
    assert s['sent'] == 101 and s['answered'] == 100 and s['lost'] == 1
    assert s['invalid'] == 1
    assert s['p50_ms'] == pytest.approx(50.5) and s['max_ms'] == 100.0
    assert s['exact_ratio'] == pytest.approx(0.5)
    assert s['throughput_hz'] == pytest.approx(10.0)
    assert s['misses_beyond_grace'] == 40          # rtt > 60 ms
    assert s['slo_attainment'] == pytest.approx(50 / 101)
    assert s['fallback_reasons'] == {'stage_timeout': 1}
    assert s['fallback_ratio'] == pytest.approx(0.01)
    assert s['refusals'] == {'NOT_UNDERSTOOD': 1} and s['refusal_ratio'] == pytest.approx(0.01)
    assert s['stages']['transport_ms']['mean'] == pytest.approx(1.0)
    text = json.dumps(stats.jsonable(stats.summarize([], 0.0)))
    assert 'NaN' not in text


def test_records_read_codes_not_prose():
    r = _record(0, 3.0, source='rule_based', primary='generated')
    assert r.reason_class == 'unknown' and not r.fallback      # no event matched yet
    r.fallback_code = Fallback.STAGE_TIMEOUT
    r.fallback_reason = 'whatever words the server chose'
    assert r.fallback and r.chain and r.fault_handled and r.reason_class == 'stage_timeout'
    degraded = _record(1, 3.0, source='generated', primary='generated',
                       fallback_code=Fallback.STAGE_TIMEOUT)   # exact k-NN inside retrieval
    assert degraded.fallback and not degraded.chain and degraded.fault_handled
    garbage = _record(2, 3.0, source='rule_based', primary='generated',
                      fallback_code=Fallback.INVALID_PLAN, fault='generate garbage')
    assert garbage.fault_handled and not _record(
        3, 3.0, fallback_code=Fallback.INVALID_PLAN).fault_handled
    refused = _record(4, 3.0, error_code=ErrorCode.UNSAFE_TASK, fallback_code=0)
    assert refused.refused and refused.error_name == 'UNSAFE_TASK' and not refused.fallback


def test_fault_windows_classify_requests():
    event = timeline.FaultEvent(10.0, 5.0, 'retrieve', 'hang')
    window = faultlog.FaultWindow(event, on_sent=1.0, on_acked=1.1, off_sent=3.0,
                                  off_acked=3.1)
    params = {'/p': {'pipeline': 'retrieved', 'retrieve_budget_ms': 10.0}}

    def rec(sent, rtt_ms, code=0):
        r = _record(0, rtt_ms, sent=sent, fallback_code=code, expected='HALT')
        r.extra['planner_node'] = '/p'
        return r

    inside, edge, outside, late = rec(2.0, 20.0, Fallback.STAGE_TIMEOUT), rec(1.05, 20.0), \
        rec(0.2, 5.0), rec(5.0, 5.0, Fallback.STAGE_TIMEOUT)
    records = [inside, edge, outside, late]
    faultlog.classify_faults(records, [window], params)
    assert (inside.fault_expect, edge.fault_expect, outside.fault_expect) == (True, None, False)
    assert inside.fault == 'retrieve hang' and outside.fault == ''
    acc = stats.fault_accounting(records)
    assert acc['required'] == 1 and acc['required_fell_back'] == 1
    assert acc['forbidden_fault_fallbacks'] == 1 and not acc['matches_timeline']


def test_effective_pipeline_follows_the_answers():
    assert faultlog.effective_pipeline('generated', {'retrieved', 'rule_based'}) == 'retrieved'
    assert faultlog.effective_pipeline('auto', {'generated'}) == 'generated'
    assert faultlog.effective_pipeline('auto', {'rule_based'}) == 'rule_based'
    assert faultlog.effective_pipeline('retrieved', set()) == 'retrieved'
    assert faultlog.effective_pipeline('rule_based', {'retrieved'}) == 'rule_based'


def test_join_events_matches_by_robot_and_latency():
    class Lat:
        def __init__(self, total):
            self.total_ms = total

    class Ev:
        def __init__(self, robot, total, hit, fallback, rid=''):
            self.robot_id, self.latency, self.cache_hit = robot, Lat(total), hit
            self.fallback, self.fallback_reason, self.request_id = fallback, 'why', rid

    a = _record(0, 3.0, server_ms=1.25, robot_id='r0')
    b = _record(1, 3.0, server_ms=2.5, robot_id='r1')
    n = faultlog.join_events([a, b], [(0.0, '/p', Ev('r0', 1.25, True, 0)),
                                      (0.0, '/p', Ev('r1', 2.5, False, 1))])
    assert n == 2 and a.cache_hit and not a.fallback
    assert b.fallback and b.fallback_code == Fallback.STAGE_TIMEOUT


# ------------------------------------------------------------------- plots, MCAP
def test_plots_and_mcap_are_written(tmp_path):
    from mcap.reader import make_reader

    plots.latency_cdf(str(tmp_path / 'cdf.png'), {'a': [1.0, 2.0, 3.0], 'empty': []}, 150.0)
    plots.stage_breakdown(str(tmp_path / 'st.png'),
                          {'a': {'embed_ms': {'mean': 2.0}, 'transport_ms': {'mean': 1.0}}})
    series = {'a': ([0.0, 1.0], [2.0, 3.0], [False, True])}
    plots.latency_timeline(str(tmp_path / 'tl.png'), series,
                           [timeline.FaultEvent(0.5, 0.2, 'embed', 'error')], 150.0)
    for name in ('cdf.png', 'st.png', 'tl.png'):
        assert (tmp_path / name).read_bytes()[:4] == b'\x89PNG'
    log = McapLog(str(tmp_path / 'e.mcap'), max_messages=3)
    for i in range(5):
        log.write('/bench/requests', 'rag_planner/bench/Request',
                  {'request_id': str(i), 'rtt_ms': float('nan')}, 1000 + i)
    log.close()
    assert (log.written, log.dropped) == (3, 2)
    with open(tmp_path / 'e.mcap', 'rb') as f:
        reader = make_reader(f)
        messages = list(reader.iter_messages())
        summary = reader.get_summary()
    assert len(messages) == 3
    schema, channel, message = messages[0]
    assert schema.encoding == 'jsonschema' and channel.message_encoding == 'json'
    assert json.loads(message.data)['rtt_ms'] is None
    assert json.loads(schema.data)['type'] == 'object'
    assert summary.statistics.message_count == 3


# --------------------------------------------------------------------------- LLM
def test_llm_prompt_and_lexical_neighbours():
    class Entry:
        def __init__(self, i, task):
            self.id, self.task = f'e{i}', task

    entries = [Entry(0, 'Go charge at CHARGER-3.'), Entry(1, 'Count SKU-1 at A01-01.'),
               Entry(2, 'Please go charge now')]
    near = lexical_neighbours('go charge at CHARGER-5', entries, k=2)
    assert [e.id for e in near] == ['e0', 'e2']
    prompt = build_prompt('Stop now.', [('Go charge at CHARGER-3.',
                                         'NAVIGATE CHARGER-3; CHARGE CHARGER-3')])
    assert prompt.endswith('Task: Stop now.\nPlan:')
    assert 'Plan: NAVIGATE CHARGER-3; CHARGE CHARGER-3\n' in prompt
