"""
Self-test of a planner before it serves: cases it must answer exactly as expected.

A case (``config/safety_cases.yaml``, a generation's ``selftest.jsonl``) is a task, a
robot state, optional safety limits (``cfg``) and what the answer must be (``expect``:
code, plan, starts_with, not_contains, rule, slot; see the YAML file's header).  Each case
runs through a :class:`PlanningEngine` with the planner under test as its primary path,
so the whole answer policy is tested, not only the planner; the deadline is generous, as
this checks what a generation answers, not how fast a busy machine runs it.
"""

from dataclasses import dataclass
import argparse
import json
from pathlib import Path
import sys
from typing import Iterable, Optional

import yaml

from rag_planner.domain.answers import ErrorCode
from rag_planner.domain.plan_grammar import format_plan, parse_plan
from rag_planner.domain.robot_state import RobotState
from rag_planner.domain.safety import SafetyConfig, validate_plan
from rag_planner.params import PlannerConfig
from rag_planner.paths import config_file
from rag_planner.planners.base import Planner
from rag_planner.planners.factory import build_planner, generation_config
from rag_planner.planners.generations import (
    Generation, GenerationError, read_public_key, verify_generation)
from rag_planner.serving.engine import PlanningEngine
from rag_planner.serving.request import PlanOutcome, PlanRequestData

SAFETY_CASES = 'safety_cases.yaml'
EXPECT_KEYS = frozenset({'code', 'plan', 'starts_with', 'not_contains', 'rule', 'slot'})
SELFTEST_DEADLINE_MS = 5000.0


@dataclass(frozen=True)
class SelfTestReport:
    """How many cases ran and what went wrong in those that failed."""

    total: int
    failures: tuple  # (case name, what differs)

    @property
    def ok(self) -> bool:
        """Return True when every case was answered as expected."""
        return self.total > 0 and not self.failures

    def summary(self) -> str:
        """Return one line for a log or a service answer."""
        passed = self.total - len(self.failures)
        head = f'self-test {passed}/{self.total}'
        if not self.failures:
            return head
        name, why = self.failures[0]
        return f'{head}: {name}: {why}' + (f' (+{len(self.failures) - 1} more)'
                                           if len(self.failures) > 1 else '')


def load_cases(path) -> list:
    """Return the cases of a YAML list or a JSON-lines file."""
    path = Path(path)
    text = path.read_text()
    if path.suffix == '.jsonl':
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    cases = yaml.safe_load(text)
    if not isinstance(cases, list):
        raise ValueError(f'{path}: not a list of cases')
    return cases


def safety_cases() -> list:
    """Return the shipped safety cases."""
    return load_cases(config_file(SAFETY_CASES))


def check_answer(case: dict, outcome: PlanOutcome) -> list:
    """Return what in ``outcome`` differs from the case's expectations (empty: passed)."""
    exp = case['expect']
    code = ErrorCode[exp.get('code', 'NONE')]
    answer = format_plan(outcome.steps)
    problems = []
    if outcome.error != code:
        problems.append(f'code {outcome.error.name}, expected {code.name} ({answer}; '
                        f'{outcome.message})')
    if 'plan' in exp and answer != exp['plan']:
        problems.append(f'plan {answer!r}, expected {exp["plan"]!r}')
    if 'starts_with' in exp and not answer.startswith(exp['starts_with']):
        problems.append(f'plan {answer!r} does not start with {exp["starts_with"]!r}')
    problems += [f'plan {answer!r} contains {bad!r}' for bad in exp.get('not_contains', [])
                 if bad in answer]
    if 'rule' in exp and f'rule {exp["rule"]}' not in outcome.message:
        problems.append(f'message does not name rule {exp["rule"]}: {outcome.message}')
    if 'slot' in exp and exp['slot'] not in outcome.message:
        problems.append(f'message does not name slot {exp["slot"]}: {outcome.message}')
    if code != ErrorCode.INVALID_REQUEST and not problems:
        state = RobotState.from_dict(case.get('state') or {})
        if not validate_plan(parse_plan(answer), state,
                             SafetyConfig.from_dict(case.get('cfg') or {})).ok:
            problems.append(f'answer {answer!r} is not valid in the case state')
    return problems


def run_selftest(primary: Optional[Planner], cases: Iterable[dict],
                 base: Optional[dict] = None) -> SelfTestReport:
    """
    Answer every case with ``primary`` (None: the rule planner); ``primary`` stays open.

    ``base`` are planner parameters every case's engine starts from (a case's ``cfg``
    sets its ``safety.*`` on top).
    """
    engines: dict = {}
    failures, total = [], 0
    try:
        for case in cases:
            total += 1
            cfg = case.get('cfg') or {}
            key = tuple(sorted(cfg.items()))
            if key not in engines:
                params = dict(base or {}, workers=1, deadline_ms=SELFTEST_DEADLINE_MS,
                              retrieval_timeout_ms=SELFTEST_DEADLINE_MS,
                              generate_budget_ms=SELFTEST_DEADLINE_MS)
                params.update({f'safety.{k}': v for k, v in cfg.items()})
                engines[key] = PlanningEngine(PlannerConfig.from_dict(params), primary)
            name = str(case.get('name', f'case {total}'))
            try:
                outcome = engines[key].plan(PlanRequestData(
                    case['task'], RobotState.from_dict(case.get('state') or {}), 0.0, name),
                    timeout=2 * SELFTEST_DEADLINE_MS / 1000.0)
            except (TimeoutError, KeyError, TypeError, ValueError) as exc:
                failures.append((name, f'no answer: {exc!r}'))
                continue
            problems = check_answer(case, outcome)
            if problems:
                failures.append((name, '; '.join(problems)))
    finally:
        for engine in engines.values():
            engine.close(close_primary=False)
    return SelfTestReport(total, tuple(failures))


def selftest_folder(generation: Generation, log=lambda _: None) -> SelfTestReport:
    """
    Load ``generation``'s planner and answer its self-test; a planner that does not load fails.

    The cases are the shipped safety cases and the generation's own held-out cases.
    """
    primary, notes = build_planner(generation_config(PlannerConfig.from_dict({}), generation),
                                   '', log=log)
    try:
        if notes:
            return SelfTestReport(1, (('load', 'the generation does not load: ' +
                                       '; '.join(notes)),))
        return run_selftest(primary, safety_cases() + load_cases(generation.selftest_path))
    finally:
        primary.close()


def selftest_generation(root, public_key_path) -> tuple:
    """
    Verify the generation in ``root`` and run its self-test: (generation, report).

    GenerationError when it is not signed or not intact.
    """
    generation = verify_generation(root, read_public_key(public_key_path))
    return generation, selftest_folder(generation)


def main(argv: Optional[list] = None) -> int:
    """
    Self-test a generation in this process and print the report as one JSON line.

    A running planner calls this in a child process (``~/reload``), so the self-test's
    CPU is not taken from the requests.  Exit 0: passed; 1: failed; 2: not verifiable.
    """
    parser = argparse.ArgumentParser(prog='python -m rag_planner.serving.selftest')
    parser.add_argument('folder')
    parser.add_argument('--public-key', required=True)
    args = parser.parse_args(argv)
    try:
        generation, report = selftest_generation(args.folder, args.public_key)
    except (GenerationError, OSError, ValueError) as exc:
        print(json.dumps({'error': f'{type(exc).__name__}: {exc}'}))
        return 2
    print(json.dumps({'generation_id': generation.generation_id, 'total': report.total,
                      'failures': [list(f) for f in report.failures]}))
    return 0 if report.ok else 1


__all__ = ['check_answer', 'EXPECT_KEYS', 'load_cases', 'main', 'run_selftest', 'safety_cases',
           'selftest_folder', 'selftest_generation', 'SelfTestReport']


if __name__ == '__main__':
    sys.exit(main())
