"""
Swap a new generation into a serving engine without a missed deadline.

:meth:`GenerationReloader.reload` runs off the request path (the node calls it on a
thread of its own): it verifies the generation ``generation_dir`` holds now (signature,
files), self-tests it in a child process (the shipped safety cases and the generation's
held-out cases, through the whole answer policy: ``python -m
rag_planner.serving.selftest``, SCHED_IDLE, so its CPU is not taken from the requests the
GIL-bound server answers), verifies the files again, loads its planner here (sharing the
running embedder) and only then swaps it in between requests
(:meth:`PlanningEngine.swap_primary`).  Anything that fails leaves the running
generation serving, and the result says why.  Requests already taken finish on the planner
they started with; the old planner is closed after a grace period.  The last-known safe
plans live in the engine and survive every swap (each is judged again when used); the
retrieval cache moves over when library and index are unchanged, the skeleton cache when
the generator is unchanged too.
"""

from dataclasses import dataclass
import json
import os
import subprocess
import sys
import threading
import time
from typing import Any, Callable, Optional

from rag_planner.planners.factory import build_planner, generation_config, load_generation
from rag_planner.planners.generations import Generation, GenerationError
from rag_planner.serving.selftest import SelfTestReport

# the old planner closes this long after the swap (requests it took finish first)
CLOSE_GRACE_S = 30.0
# The self-test runs in a child process: in this one, beside 100 requests/s, its second
# of CPU queued requests for seconds (the server is bound by one interpreter lock).
SELFTEST_TIMEOUT_S = 300.0
SELFTEST_NICE = 19


def _background() -> None:
    """Run the child only when a core is otherwise idle (SCHED_IDLE; else nice 19)."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        os.nice(SELFTEST_NICE)


def selftest_in_child(generation: Generation, public_key: str,
                      timeout_s: float = SELFTEST_TIMEOUT_S) -> SelfTestReport:
    """Run ``python -m rag_planner.serving.selftest`` on ``generation``; return its report."""
    env = dict(os.environ, OMP_NUM_THREADS='1')
    try:
        done = subprocess.run(
            [sys.executable, '-m', 'rag_planner.serving.selftest', str(generation.root),
             '--public-key', public_key], capture_output=True, text=True, timeout=timeout_s,
            env=env, preexec_fn=_background)
    except (OSError, subprocess.SubprocessError) as exc:
        return SelfTestReport(1, (('self-test', f'could not run: {exc}'),))
    lines = done.stdout.strip().splitlines()
    try:
        report = json.loads(lines[-1])
    except (IndexError, ValueError):
        return SelfTestReport(1, (('self-test', f'exit {done.returncode}: '
                                   f'{done.stderr.strip()[-300:]}'),))
    if 'error' in report:
        return SelfTestReport(1, (('verify', report['error']),))
    if report.get('generation_id') != generation.generation_id:
        return SelfTestReport(1, (('self-test', 'tested another generation: '
                                   f'{report.get("generation_id")!r}'),))
    return SelfTestReport(int(report['total']), tuple(tuple(f) for f in report['failures']))


@dataclass(frozen=True)
class ReloadResult:
    """What a reload did: swapped in ``generation`` (ok) or refused it (``message``)."""

    ok: bool
    generation: str      # the generation serving afterwards
    message: str
    seconds: float = 0.0


def _digests(generation: Optional[Generation], prefixes: tuple) -> Optional[dict]:
    if generation is None:
        return None
    files = generation.manifest.get('files', {})
    return {k: v.get('sha256') for k, v in files.items() if k.startswith(prefixes)}


def _same(old: Optional[Generation], new: Generation, prefixes: tuple) -> bool:
    before = _digests(old, prefixes)
    return before is not None and before == _digests(new, prefixes)


class GenerationReloader:
    """Loads, verifies, self-tests and swaps in generations, one reload at a time."""

    def __init__(self, engine, state_dir: str, wrap: Callable[[str, Any], Any],
                 log: Callable[[str], None], current: Optional[Generation] = None,
                 close_grace_s: float = CLOSE_GRACE_S,
                 selftest: Callable[[Generation, str], SelfTestReport] = selftest_in_child):
        """Reload into ``engine``; ``current`` is the generation it serves (None: shipped)."""
        self._engine = engine
        self._state_dir = state_dir
        self._wrap = wrap
        self._log = log
        self._current = current
        self._grace_s = close_grace_s
        self._selftest = selftest
        self._busy = threading.Lock()
        self._timers: list = []

    def reload(self) -> ReloadResult:
        """Load what ``generation_dir`` holds now and swap it in if it passes (blocking)."""
        if not self._busy.acquire(blocking=False):
            return ReloadResult(False, self._engine.generation, 'a reload is already running')
        start = time.monotonic()
        try:
            result = self._reload()
        finally:
            self._busy.release()
        result = ReloadResult(result.ok, result.generation, result.message,
                              time.monotonic() - start)
        self._log(f'reload: {result.message} ({result.seconds:.1f} s)')
        return result

    def _refuse(self, why: str) -> ReloadResult:
        serving = self._engine.generation or 'none'
        return ReloadResult(False, self._engine.generation,
                            f'refused: {why}; generation {serving} keeps serving')

    def _reload(self) -> ReloadResult:
        config = self._engine.config
        try:
            generation = load_generation(config)
        except GenerationError as exc:
            return self._refuse(f'{type(exc).__name__}: {exc}')
        if generation.generation_id == self._engine.generation:
            return ReloadResult(True, generation.generation_id,
                                f'generation {generation.generation_id} already serves')
        report = self._selftest(generation, config['generation_public_key'])
        if not report.ok:
            return self._refuse(f'{generation.generation_id} failed its {report.summary()}')
        try:  # again: the folder may have changed while the child tested it
            if load_generation(config).manifest != generation.manifest:
                return self._refuse(f'{generation.generation_id} changed during its self-test')
        except GenerationError as exc:
            return self._refuse(f'{type(exc).__name__} after the self-test: {exc}')
        # the embedder is configuration, not part of a generation: the running one is shared
        embedder = getattr(getattr(self._engine.primary, 'retriever', None), 'embedder', None)
        primary, notes = build_planner(generation_config(config, generation), self._state_dir,
                                       self._wrap, self._log, embedder=embedder,
                                       warm_cache=False)
        if notes:
            primary.close()
            return self._refuse(f'{generation.generation_id} does not load: ' + '; '.join(notes))
        kept = self._carry_caches(primary, generation)
        old = self._engine.swap_primary(primary, generation.generation_id)
        self._current = generation
        timer = threading.Timer(self._grace_s, old.close)
        timer.daemon = True
        timer.start()
        self._timers = [t for t in self._timers if t.is_alive()] + [timer]
        return ReloadResult(True, generation.generation_id,
                            f'generation {generation.generation_id} serves ({report.summary()}'
                            f'; caches kept: {", ".join(kept) or "none"})')

    def _carry_caches(self, primary, generation: Generation) -> list:
        """Move the caches that stay valid under the new generation into its planner."""
        old = self._engine.primary
        kept = []
        old_retriever = getattr(old, 'retriever', None)
        new_retriever = getattr(primary, 'retriever', None)
        if old_retriever is not None and new_retriever is not None and \
                _same(self._current, generation, ('plan_library', 'index/')):
            new_retriever.cache = old_retriever.cache
            kept.append('retrieval')
            if hasattr(old, 'skeletons') and hasattr(primary, 'skeletons') and \
                    _same(self._current, generation, ('generator/',)):
                primary.skeletons = old.skeletons
                kept.append('skeletons')
        return kept

    def close(self) -> None:
        """Close the planners still waiting for their grace period now."""
        for timer in self._timers:
            if timer.is_alive():
                timer.cancel()
                timer.function()
        self._timers = []


__all__ = ['GenerationReloader', 'ReloadResult']
