"""
Reports of fleet and benchmark runs: summary.json, PNG plots, the MCAP log, a table.

Works on duck-typed phase results (``records``, ``windows``, ``events``,
``wall_s``, ``label`` ...) as produced by ``rag_planner.sim.fleet_sim.run_phase``,
so it needs no ROS itself.
"""

import json
import math
import os
import shlex
import time
from typing import Mapping, Optional, Sequence

from rag_planner.sim import plots
from rag_planner.sim.mcap_log import McapLog
from rag_planner.sim.procs import machine_info
from rag_planner.sim.stats import jsonable, summarize

SUMMARY_KEYS = ('p50_ms', 'p95_ms', 'p99_ms', 'max_ms', 'throughput_hz', 'lost', 'invalid',
                'exact_ratio', 'fallback_ratio', 'cache_hit_ratio', 'slo_attainment')


def deadline_of(result) -> float:
    """Return the deadline (ms) the planners of a phase ran with."""
    values = [float(p.get('deadline_ms')) for p in result.planner_params.values()
              if p.get('deadline_ms') is not None]
    return max(values) if values else 150.0


def phase_summary(result, grace_ms: float = 10.0) -> dict:
    """Return the summary object of one phase."""
    deadline = deadline_of(result)
    out = summarize(result.records, result.wall_s, deadline, grace_ms)
    out['label'] = result.label
    out['sim_s'] = result.sim_s
    out['speed'] = result.speed
    out['interface'] = sorted({r.interface for r in result.records})
    out['planner_params'] = result.planner_params
    out['events_received'] = len(result.events)
    out['clock_msgs'] = result.clock_msgs
    out['fault_windows'] = [
        {'label': w.event.label, 'start_s': w.event.start_s, 'duration_s': w.event.duration_s,
         'on_sent_s': w.on_sent, 'on_acked_s': w.on_acked, 'off_sent_s': w.off_sent,
         'off_acked_s': w.off_acked, 'errors': w.errors} for w in result.windows]
    out['robots_end'] = result.robots[:50]
    return out


def print_summary(summaries: Mapping[str, dict], file=None) -> None:
    """Print a table of the main figures of each summary."""
    head = f'{"planner":<16}' + ''.join(f'{k:>15}' for k in SUMMARY_KEYS)
    print(head, file=file)
    for label, s in summaries.items():
        cells = []
        for key in SUMMARY_KEYS:
            value = s.get(key)
            if value is None or (isinstance(value, float) and math.isnan(value)):
                cells.append(f'{"-":>15}')
            elif isinstance(value, float):
                cells.append(f'{value:>15.3f}')
            else:
                cells.append(f'{value!s:>15}')
        print(f'{label:<16}' + ''.join(cells), file=file)


def event_to_dict(msg) -> dict:
    """Return a PlanEvent message as a JSON-friendly dict."""
    lat = msg.latency
    return {'stamp': {'sec': int(msg.stamp.sec), 'nsec': int(msg.stamp.nanosec)},
            'request_id': msg.request_id, 'robot_id': msg.robot_id, 'source': msg.source,
            'error_code': int(msg.error_code), 'fallback': int(msg.fallback),
            'latency': {'embed_ms': lat.embed_ms, 'retrieve_ms': lat.retrieve_ms,
                        'generate_ms': lat.generate_ms, 'validate_ms': lat.validate_ms,
                        'total_ms': lat.total_ms},
            'slo_met': bool(msg.slo_met), 'cache_hit': bool(msg.cache_hit),
            'fallback_reason': msg.fallback_reason}


def record_to_mcap(record) -> dict:
    """Return the MCAP body of a request record."""
    keys = ('planner', 'robot_id', 'request_id', 'interface', 'family', 'task', 'sim_t',
            'rtt_ms', 'server_ms', 'source', 'error_code', 'fallback_code', 'fallback_reason',
            'plan', 'expected', 'valid',
            'exact', 'fault', 'answered')
    return {k: getattr(record, k) for k in keys}


def write_mcap(path: str, phases: Sequence, sampler=None,
               max_messages: Optional[int] = None) -> dict:
    """Write the events, request records, fault switches and RSS samples of phases."""
    log = McapLog(path, max_messages=max_messages)
    try:
        for result in phases:
            base = result.t0_wall
            for t, planner, msg in result.events:
                log.write(f'{planner}/events', 'rag_planner_interfaces/msg/PlanEvent',
                          event_to_dict(msg), int((base + t) * 1e9))
            for record in result.records:
                t = record.sent + (record.rtt_ms / 1000.0 if record.answered else 0.0)
                log.write('/bench/requests', 'rag_planner/bench/Request',
                          record_to_mcap(record), int((base + t) * 1e9))
            for w in result.windows:
                e = w.event
                body = {'sim_t': e.start_s, 'stage': e.stage, 'mode': e.mode,
                        'delay_ms': e.delay_ms, 'label': e.label}
                log.write('/bench/faults', 'rag_planner/bench/Fault', dict(body, on=True),
                          int((base + w.on_sent) * 1e9))
                if math.isfinite(w.off_sent):
                    log.write('/bench/faults', 'rag_planner/bench/Fault',
                              dict(body, on=False, sim_t=e.end_s),
                              int((base + w.off_sent) * 1e9))
        if sampler is not None:
            base = time.time() - time.monotonic() + sampler._t0
            for label, rows in sampler.samples.items():
                for t, rss, cpu in rows:
                    log.write('/bench/rss', 'rag_planner/bench/Rss',
                              {'process': label, 'pid': 0, 'rss_bytes': int(rss),
                               'cpu_percent': cpu}, int((base + t) * 1e9))
    finally:
        log.close()
    return {'path': os.path.basename(path), 'messages': log.written, 'dropped': log.dropped,
            'bytes': os.path.getsize(path)}


def write_plots(out_dir: str, phases: Sequence, sampler=None, prefix: str = '',
                extra_latencies: Optional[Mapping[str, Sequence[float]]] = None,
                extra_breakdowns: Optional[Mapping[str, dict]] = None) -> list:
    """Write the CDF, stage breakdown, timeline (and RSS) plots; return the file names."""
    names = []
    deadline = max((deadline_of(p) for p in phases), default=150.0)
    series = {p.label: [r.rtt_ms for r in p.records if r.answered] for p in phases}
    series.update(extra_latencies or {})
    name = f'{prefix}latency_cdf.png'
    plots.latency_cdf(os.path.join(out_dir, name), series, deadline)
    names.append(name)
    breakdowns = {p.label: summarize(p.records, p.wall_s)['stages'] for p in phases}
    breakdowns.update(extra_breakdowns or {})
    name = f'{prefix}stage_breakdown.png'
    plots.stage_breakdown(os.path.join(out_dir, name), breakdowns)
    names.append(name)
    timeline = {p.label: ([r.sim_t for r in p.records if r.answered],
                          [r.rtt_ms for r in p.records if r.answered],
                          [r.chain or r.fault_handled for r in p.records if r.answered])
                for p in phases}
    faults = [w.event for p in phases for w in p.windows]
    name = f'{prefix}latency_timeline.png'
    plots.latency_timeline(os.path.join(out_dir, name), timeline, faults, deadline,
                           time_label='sim time [s]')
    names.append(name)
    if sampler is not None and sampler.samples:
        rss = {label: ([r[0] for r in rows], [r[1] for r in rows])
               for label, rows in sampler.samples.items()}
        name = f'{prefix}rss.png'
        plots.rss_over_time(os.path.join(out_dir, name), rss)
        names.append(name)
    return names


def write_json(path: str, obj) -> None:
    """Write strict JSON (NaN -> null), pretty-printed, atomically."""
    tmp = path + '.tmp'
    with open(tmp, 'w', encoding='utf-8') as f:
        json.dump(jsonable(obj), f, indent=2, sort_keys=False)
        f.write('\n')
    os.replace(tmp, path)


def write_phase_report(out_dir: str, result, summary: dict, sampler=None, argv=None,
                       max_mcap_messages: Optional[int] = 200_000) -> dict:
    """Write summary.json, the plots and events.mcap of one fleet_sim run."""
    os.makedirs(out_dir, exist_ok=True)
    doc = {'fleet': summary,
           'meta': {'command': ' '.join(shlex.quote(a) for a in (argv or [])),
                    'machine': machine_info(),
                    'rss': sampler.summary() if sampler is not None else {}}}
    doc['meta']['plots'] = write_plots(out_dir, [result], sampler)
    doc['meta']['mcap'] = write_mcap(os.path.join(out_dir, 'events.mcap'), [result], sampler,
                                     max_mcap_messages)
    write_json(os.path.join(out_dir, 'summary.json'), doc)
    return doc


def _fmt(value, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return '-'
    if isinstance(value, float):
        return f'{value:,.{digits}f}'
    return str(value)


def markdown_table(doc: Mapping[str, dict]) -> str:
    """Return a Markdown table of the planner objects of a summary.json document."""
    rows = ['| planner | p50 ms | p95 ms | p99 ms | max ms | throughput Hz | lost | invalid '
            '| exact (held-out) | fallback chain | cache hits |',
            '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|']
    for label, s in doc.items():
        if not isinstance(s, dict) or 'p50_ms' not in s:
            continue
        exact = s.get('exact_ratio')
        rows.append('| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |'.format(
            label, _fmt(s.get('p50_ms')), _fmt(s.get('p95_ms')), _fmt(s.get('p99_ms')),
            _fmt(s.get('max_ms')), _fmt(s.get('throughput_hz')), _fmt(s.get('lost')),
            _fmt(s.get('invalid')), '-' if exact is None else f'{100 * exact:.1f} %',
            '-' if s.get('chain_ratio') is None else f'{100 * s["chain_ratio"]:.1f} %',
            '-' if s.get('cache_hit_ratio') is None else f'{100 * s["cache_hit_ratio"]:.1f} %'))
    return '\n'.join(rows) + '\n'
