"""One benchmark run (``bench``): servers, load phases, accuracy phases, the LLM, the report."""

import argparse
import math
import os
import shlex
import tempfile
import time
from typing import Optional

import rclpy
from tqdm import tqdm

from rag_planner.domain.plan_grammar import format_plan
from rag_planner.paths import default_library_path
from rag_planner.retrieval.plan_library import read_library
from rag_planner.ros.spinner import Spinner
from rag_planner.sim.bench import ALL, PLANNERS
from rag_planner.sim.fleet_node import FleetNode
from rag_planner.sim.fleet_sim import resolve_timeline
from rag_planner.sim.llm_baseline import lexical_neighbours, LlmPlanner, LlmUnavailable
from rag_planner.sim.phase import run_phase
from rag_planner.sim.procs import machine_info, PlannerProcess, RssSampler
from rag_planner.sim.records import RequestRecord
from rag_planner.sim.report import (
    markdown_table, phase_summary, print_summary, write_json, write_mcap, write_plots)
from rag_planner.sim.scenario import FleetScenario, ScenarioConfig
from rag_planner.sim.stats import summarize
from rag_planner.sim.timeline import FaultEvent


def _parse_params(items) -> dict:
    out = {}
    for item in items:
        if ':=' not in item:
            raise ValueError(f'--param {item!r}: expected NAME:=VALUE')
        name, value = item.split(':=', 1)
        out[name.strip()] = value.strip()
    return out


def _progress(total: int, desc: str, disable: bool):
    return tqdm(total=total, unit='req', desc=desc, disable=disable, leave=False)


def _primary_of(proc: PlannerProcess) -> str:
    log = proc.log()
    marker = 'ready: primary path '
    at = log.find(marker)
    if at < 0:
        return ''
    return log[at + len(marker):].split(',', 1)[0].strip()


def core_ms_per_plan(cpu: dict, throughput_hz) -> dict:
    """
    Return process label -> CPU milliseconds per answered plan in a phase.

    ``cpu`` holds each watched process's mean CPU % of one core (``<label>_cpu_pct``):
    a process at 50 % answering 100 plans/s spends 5 core-ms per plan.
    """
    if not isinstance(throughput_hz, (int, float)) or not throughput_hz > 0:
        return {}
    return {key[:-len('_cpu_pct')]: pct * 10.0 / throughput_hz for key, pct in cpu.items()
            if key.endswith('_cpu_pct') and key != 'machine_cpu_pct'}


class Bench:
    """One benchmark run: servers, phases, the LLM, the report."""

    def __init__(self, opts: argparse.Namespace, argv: list):
        self.opts = opts
        self.argv = argv
        self.planners = [p.strip() for p in opts.planners.split(',') if p.strip()]
        unknown = [p for p in self.planners if p not in ALL]
        if unknown:
            raise ValueError(f'unknown planners {unknown}; choose from {ALL}')
        self.timeline = resolve_timeline(opts.faults, opts.duration)
        self.extra_params = _parse_params(opts.param)
        self.state_root = opts.state_dir or tempfile.mkdtemp(prefix='rag_bench_')
        self.servers: dict = {}
        self.phases: list = []
        self.summaries: dict = {}
        self.notes: list = []
        os.makedirs(opts.out, exist_ok=True)
        self.sampler = RssSampler(period_s=0.5)

    # ------------------------------------------------------------------ servers
    def start_servers(self) -> None:
        """Start one plan_server per ROS planner compared; wait until each is ready."""
        for label in self.planners:
            if label not in PLANNERS:
                continue
            state = os.path.join(self.state_root, label)
            os.makedirs(state, exist_ok=True)
            params = {'pipeline': PLANNERS[label], 'state_dir': state}
            params.update(self.extra_params)
            proc = PlannerProcess(f'/bench_{label}', params,
                                  os.path.join(self.state_root, f'{label}.log'),
                                  module=self.opts.server_module)
            self.servers[label] = proc.start()
            # One at a time: the first start may build the shared index cache.
            if not proc.wait_ready(300.0):
                raise RuntimeError(f'plan_server for {label} did not start:\n'
                                   + proc.log()[-3000:])
            self.sampler.watch(label, proc.pid)
            primary = _primary_of(proc)
            if primary and primary != PLANNERS[label]:
                self.notes.append(f'{label}: asked for pipeline {PLANNERS[label]!r}, the server '
                                  f'runs {primary!r} (see {proc.log_path})')

    def stop_servers(self) -> None:
        """Stop every server."""
        for proc in self.servers.values():
            proc.stop()

    # ------------------------------------------------------------------- phases
    def scenario(self, duration: float, rate: float, robots: int, templates: str,
                 evolve: bool, process: str, seed: int, parts: int = 0) -> FleetScenario:
        """Return a scenario."""
        return FleetScenario(ScenarioConfig(robots=robots, rate_hz=rate, duration_s=duration,
                                            seed=seed, process=process, templates=templates,
                                            evolve=evolve, composite_parts=parts))

    def load_phase(self, node: FleetNode, label: str, phase_label: str, timeline,
                   seed_offset: int = 0) -> object:
        """Warm up, then run the measured load against one planner."""
        o = self.opts
        planner = self.servers[label].node_name
        if o.warmup > 0:
            warm = self.scenario(o.warmup * o.speed, o.rate, o.robots, 'train', False,
                                 'periodic', o.seed + 1000)
            run_phase(node, warm, lambda _r: planner, label=f'{phase_label}-warmup',
                      speed=o.speed, interface=o.interface, answer_timeout_s=1.0,
                      deadline_ms=o.deadline_ms, watch_events=not o.no_events)
        scenario = self.scenario(o.duration, o.rate, o.robots, o.templates, not o.static,
                                 o.process, o.seed + seed_offset, o.composite_parts)
        bar = _progress(scenario.total, phase_label, o.no_progress)
        result = run_phase(node, scenario, lambda _r: planner, label=phase_label,
                           speed=o.speed, interface=o.interface, timeline=timeline,
                           answer_timeout_s=o.answer_timeout, deadline_ms=o.deadline_ms,
                           progress=bar, watch_events=not o.no_events)
        bar.close()
        return result

    def summary_of(self, result) -> dict:
        """Return a phase's summary with the CPU use measured while it ran."""
        summary = phase_summary(result)
        self.sampler.sample_once()
        summary['cpu'] = self.sampler.window(result.t0_mono, result.t0_mono + result.wall_s)
        summary['core_ms_per_plan'] = core_ms_per_plan(summary['cpu'],
                                                       summary.get('throughput_hz'))
        return summary

    def accuracy_phase(self, node: FleetNode, label: str) -> object:
        """Send the held-out accuracy tasks one by one (10 Hz, healthy robot)."""
        o = self.opts
        planner = self.servers[label].node_name
        n = o.accuracy_tasks
        scenario = FleetScenario(ScenarioConfig(robots=1, rate_hz=10.0, duration_s=n / 10.0,
                                                seed=o.seed + 7, process='periodic',
                                                templates='heldout', evolve=False))
        bar = _progress(scenario.total, f'{label} accuracy', o.no_progress)
        result = run_phase(node, scenario, lambda _r: planner, label=f'{label}-heldout',
                           interface='service', answer_timeout_s=o.answer_timeout,
                           deadline_ms=o.deadline_ms, progress=bar)
        bar.close()
        return result

    def accuracy_tasks(self) -> list:
        """Return the (example, state) pairs of the accuracy phase, as it draws them."""
        o = self.opts
        scenario = FleetScenario(ScenarioConfig(robots=1, rate_hz=10.0,
                                                duration_s=o.accuracy_tasks / 10.0,
                                                seed=o.seed + 7, process='periodic',
                                                templates='heldout', evolve=False))
        return [(d.example, d.state, d.expected) for d in scenario.due(math.inf)]

    # ---------------------------------------------------------------------- LLM
    def run_llm(self, retrieved: dict) -> Optional[dict]:
        """Run the LLM baseline on the held-out tasks; return its summary (None if absent)."""
        o = self.opts
        n = o.llm_tasks if o.llm_tasks >= 0 else o.accuracy_tasks
        try:
            llm = LlmPlanner(n_threads=o.llm_threads, max_tokens=o.llm_max_tokens)
        except (LlmUnavailable, ValueError, OSError, RuntimeError) as exc:
            self.notes.append(f'llm: not run: {exc}')
            return None
        library = read_library(default_library_path())
        by_id = {e.id: e for e in library.entries}
        tasks = self.accuracy_tasks()[:n]
        records = []
        context_sources = {'retrieval_server': 0, 'lexical': 0}
        bar = _progress(len(tasks), 'llm', o.no_progress)
        t_start = time.monotonic()
        for i, (example, state, expected) in enumerate(tasks):
            ids = [x for x in retrieved.get(example.task, []) if x in by_id][:o.top_k]
            if ids:
                entries = [by_id[x] for x in ids]
                context_sources['retrieval_server'] += 1
            else:
                entries = lexical_neighbours(example.task, library.entries, o.top_k)
                context_sources['lexical'] += 1
            shots = [(e.task, e.plan_text) for e in reversed(entries)]
            answer = llm.plan(example.task, shots, state)
            rec = RequestRecord(planner='llm', robot_id=state.robot_id, request_id=f'llm-{i}',
                                interface='direct', family=example.family,
                                template_id=example.template_id, task=example.task,
                                sent=time.monotonic() - t_start, answered=True,
                                rtt_ms=answer.latency_ms, server_ms=answer.latency_ms,
                                generate_ms=answer.latency_ms, source='llm',
                                success=answer.steps is not None, plan=answer.text,
                                valid=answer.valid)
            rec.expected = format_plan(expected) if expected else ''
            rec.exact = answer.steps is not None and expected is not None \
                and tuple(answer.steps) == tuple(expected)
            rec.extra.update(parse_error=answer.parse_error, prompt_tokens=answer.prompt_tokens,
                             completion_tokens=answer.completion_tokens)
            records.append(rec)
            bar.update(1)
        bar.close()
        wall = time.monotonic() - t_start
        summary = summarize(records, wall)
        summary.update(
            label='llm', model=llm.model_id, n_threads=llm.n_threads,
            load_s=llm.load_s, max_tokens=llm.max_tokens,
            parse_failures=sum(1 for r in records if not r.success),
            prompt_tokens_mean=sum(r.extra['prompt_tokens'] for r in records)
            / max(1, len(records)),
            completion_tokens_mean=sum(r.extra['completion_tokens'] for r in records)
            / max(1, len(records)),
            prompt_context=context_sources,
            latency_note='generation only (prompt evaluation + decoding); retrieval time '
                         'excluded, which favours the LLM',
            examples=[{'task': r.task, 'expected': r.expected, 'answer': r.plan,
                       'exact': r.exact, 'valid': r.valid} for r in records[:8]])
        self.llm_records = records
        return summary

    # ---------------------------------------------------------------------- run
    def run(self) -> dict:
        """Run every phase; write the report; return summary.json's content."""
        o = self.opts
        machine = machine_info()
        started = time.time()
        self.start_servers()
        rclpy.init()
        node = FleetNode('bench', publish_clock=o.speed != 1.0 or bool(self.timeline))
        spinner = Spinner(node)
        node.start_clock()
        self.sampler.watch('bench_client', os.getpid())
        self.sampler.start()
        self.llm_records = []
        try:
            ros_labels = [p for p in self.planners if p in PLANNERS]
            missing = node.wait_for_planners([self.servers[p].node_name for p in ros_labels],
                                             [f'robot_{i}' for i in range(o.robots)], 60.0,
                                             o.interface)
            if missing:
                raise RuntimeError('planners not reachable: ' + ', '.join(missing))
            for label in ros_labels:
                result = self.load_phase(node, label, label, self.timeline)
                self.phases.append(result)
                self.summaries[label] = self.summary_of(result)
            accuracy_results = {}
            if o.accuracy_tasks > 0:
                for label in ros_labels:
                    accuracy_results[label] = self.accuracy_phase(node, label)
            if o.hang_phase:   # last: a hang may leave retired workers behind
                for label in ros_labels:
                    hang = [FaultEvent(0.0, o.duration, o.hang_stage, 'hang')]
                    result = self.load_phase(node, label, f'{label}+hang', hang, seed_offset=500)
                    self.phases.append(result)
                    self.summaries[f'{label}+hang'] = self.summary_of(result)
        finally:
            node.stop_clock()
            spinner.shutdown()
            node.destroy_node()
            rclpy.try_shutdown()
            self.stop_servers()
        retrieved = {}
        for label in ('retrieval', 'pipeline'):
            if label in accuracy_results:
                for r in accuracy_results[label].records:
                    ids = r.extra.get('retrieved_ids') or []
                    if ids and r.task not in retrieved:
                        retrieved[r.task] = ids
        llm_summary = None
        if 'llm' in self.planners and o.accuracy_tasks > 0:
            llm_summary = self.run_llm(retrieved)
        self.sampler.stop()
        return self.report(machine, started, accuracy_results, llm_summary)

    def report(self, machine: dict, started: float, accuracy_results: dict,
               llm_summary: Optional[dict]) -> dict:
        """Assemble and write summary.json, plots and the MCAP file."""
        o = self.opts
        doc: dict = {}
        for label, summary in self.summaries.items():
            base = label.split('+', 1)[0]
            entry = dict(summary)
            entry['planner'] = label
            entry['pipeline_param'] = PLANNERS.get(base, '')
            entry['primary_path'] = _primary_of(self.servers[base]) if base in self.servers \
                else ''
            entry['load_exact_ratio'] = summary.get('exact_ratio')
            if base in accuracy_results and '+' not in label:
                acc = summarize(accuracy_results[base].records, accuracy_results[base].wall_s)
                entry['heldout'] = {k: acc.get(k) for k in (
                    'sent', 'answered', 'lost', 'invalid', 'exact_ratio', 'exact_n',
                    'exact_eligible', 'p50_ms', 'p95_ms', 'p99_ms', 'max_ms', 'mean_ms',
                    'fallback_ratio', 'sources', 'exact_by_family')}
                entry['exact_ratio'] = acc.get('exact_ratio')
                entry['exact_ratio_on'] = f'{acc.get("exact_eligible")} held-out tasks, ' \
                    'same for every planner'
            doc[label] = entry
        if llm_summary is not None:
            llm_summary['planner'] = 'llm'
            llm_summary['exact_ratio_on'] = f'{llm_summary.get("exact_eligible")} held-out ' \
                'tasks, same for every planner'
            doc['llm'] = llm_summary
        doc['comparison'] = self.comparison(doc)
        doc['meta'] = {
            'command': 'bench ' + ' '.join(shlex.quote(a) for a in self.argv),
            'started_utc': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(started)),
            'machine': machine, 'options': vars(o), 'notes': self.notes,
            'rss': self.sampler.summary(),
            'server_logs': {k: v.log_path for k, v in self.servers.items()},
            'fault_timeline': [vars(e) for e in self.timeline],
            'summary_keys': 'top-level latency figures are round trips of the load phase '
                            '(robot view); exact_ratio is on the same held-out tasks for '
                            'every planner (load_exact_ratio: the load phase)'}
        extra_lat = {}
        extra_bd = {}
        if self.llm_records:
            extra_lat['llm (held-out, sequential)'] = [r.rtt_ms for r in self.llm_records]
            extra_bd['llm'] = {'generate_ms': {'mean': llm_summary.get('mean_ms', 0.0)}}
        doc['meta']['plots'] = write_plots(o.out, self.phases, self.sampler,
                                           extra_latencies=extra_lat,
                                           extra_breakdowns=extra_bd)
        doc['meta']['mcap'] = write_mcap(os.path.join(o.out, 'events.mcap'), self.phases,
                                         self.sampler, o.mcap_max)
        write_json(os.path.join(o.out, 'summary.json'), doc)
        with open(os.path.join(o.out, 'summary.md'), 'w', encoding='utf-8') as f:
            f.write(markdown_table(doc))
        table = {k: v for k, v in doc.items() if k not in ('comparison', 'meta')}
        print_summary(table)
        if doc['comparison']:
            print('comparison:', doc['comparison'])
        for note in self.notes:
            print('note:', note)
        return doc

    @staticmethod
    def comparison(doc: dict) -> dict:
        """Return the LLM-versus-pipeline ratios (latency and accuracy)."""
        out = {}
        pipe, llm = doc.get('pipeline'), doc.get('llm')
        if pipe and llm:
            held = pipe.get('heldout') or {}
            for key in ('p50_ms', 'p99_ms'):
                a, b = llm.get(key), held.get(key)
                if a and b:
                    out[f'llm_over_pipeline_{key}_heldout'] = a / b
                c = pipe.get(key)
                if a and c:
                    out[f'llm_over_pipeline_{key}_load'] = a / c
            out['pipeline_exact_ratio'] = pipe.get('exact_ratio')
            out['llm_exact_ratio'] = llm.get('exact_ratio')
            out['llm_valid_ratio'] = 1.0 - llm.get('invalid', 0) / max(1, llm.get('answered', 1))
        return out
