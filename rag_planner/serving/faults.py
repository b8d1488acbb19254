"""
Fault injection: delay, hang, error or garbage in one stage, through one seam.

:class:`FaultInjector` holds the fault in force (``fault.*`` parameters).
:meth:`FaultInjector.wrap` is passed to the planner factory, which hands it
the embedder (stage ``embed``), the HNSW index (``retrieve``) and the
generator (``generate``); the wrappers call :meth:`FaultInjector.hit` before
the real call and turn its output into garbage when asked. Nothing else in
the package knows about faults.
"""

from dataclasses import dataclass, replace
import threading
import time
from typing import Any

import numpy as np

from rag_planner.domain.plan_grammar import Step

STAGES = ('embed', 'retrieve', 'generate')
MODES = ('delay', 'hang', 'error', 'garbage')
HANG_LIMIT_S = 600.0
# What a broken generator could emit that still parses: unsafe nonsense (the validator's job).
GARBAGE_PLAN = (Step('PICK', ('SKU-00000', '20')), Step('UNLOAD', ('A01-01',)))


class InjectedFault(RuntimeError):
    """The error raised by fault mode ``error``."""


@dataclass(frozen=True)
class FaultSpec:
    """Which stage misbehaves and how; stage '' means off."""

    stage: str = ''
    mode: str = 'delay'
    delay_ms: float = 200.0


class FaultInjector:
    """Called at the start of each wrapped stage; misbehaves as the current spec says."""

    def __init__(self, spec: FaultSpec = FaultSpec()):
        """Start with ``spec`` in force."""
        self._spec = spec
        self._release = threading.Event()

    @property
    def spec(self) -> FaultSpec:
        """Return the fault in force."""
        return self._spec

    def set(self, spec: FaultSpec) -> None:
        """Change the fault; threads hung by the previous one are released."""
        if spec.stage and spec.stage not in STAGES:
            raise ValueError(f'fault.stage must be one of {STAGES} or empty, got {spec.stage!r}')
        if spec.mode not in MODES:
            raise ValueError(f'fault.mode must be one of {MODES}, got {spec.mode!r}')
        old_release = self._release
        self._release = threading.Event()
        self._spec = spec
        old_release.set()

    def release(self) -> None:
        """Let every hung stage return (shutdown)."""
        self._release.set()

    def hit(self, stage: str) -> bool:
        """Apply the fault to ``stage``; return True when the stage must emit garbage."""
        spec = self._spec
        if spec.stage != stage:
            return False
        if spec.mode == 'delay':
            time.sleep(spec.delay_ms / 1000.0)
        elif spec.mode == 'hang':
            self._release.wait(HANG_LIMIT_S)
        elif spec.mode == 'error':
            raise InjectedFault(f'injected error in {stage}')
        elif spec.mode == 'garbage':
            return True
        return False

    def wrap(self, stage: str, obj: Any) -> Any:
        """Return ``obj`` behind this injector (the planner factory's ``wrap`` seam)."""
        wrapper = _WRAPPERS.get(stage)
        if wrapper is None:
            raise ValueError(f'no fault wrapper for stage {stage!r}')
        return wrapper(obj, self)


class _Wrapped:
    """Delegates everything it does not intercept to the wrapped object."""

    def __init__(self, inner: Any, faults: FaultInjector):
        self._inner = inner
        self._faults = faults

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _FaultyEmbedder(_Wrapped):
    """Embedder behind stage ``embed``: garbage is a vector of NaNs."""

    def encode(self, text):
        garbage = self._faults.hit('embed')
        enc = self._inner.encode(text)
        if garbage:
            enc = replace(enc, vector=np.full_like(enc.vector, np.nan),
                          token_states=np.full_like(enc.token_states, np.nan))
        return enc

    def embed(self, text):
        garbage = self._faults.hit('embed')
        vec = self._inner.embed(text)
        return np.full_like(vec, np.nan) if garbage else vec


class _FaultyIndex(_Wrapped):
    """HNSW index behind stage ``retrieve``: garbage is ids that are in no library."""

    def query(self, vec, k=10):
        if self._faults.hit('retrieve'):
            return [(f'garbage-{i}', 0.0) for i in range(k)]
        return self._inner.query(vec, k)

    def __len__(self) -> int:
        return len(self._inner)


class _FaultyGenerator(_Wrapped):
    """Generator behind stage ``generate``: garbage is a plan that parses but is unsafe."""

    def generate(self, *args, **kwargs):
        garbage = self._faults.hit('generate')
        generation = self._inner.generate(*args, **kwargs)
        return replace(generation, steps=GARBAGE_PLAN) if garbage else generation


_WRAPPERS = {'embed': _FaultyEmbedder, 'retrieve': _FaultyIndex, 'generate': _FaultyGenerator}


def fault_spec(config) -> FaultSpec:
    """Return the ``fault.*`` parameters of a PlannerConfig as a FaultSpec."""
    return FaultSpec(config['fault.stage'], config['fault.mode'], config['fault.delay_ms'])


__all__ = ['FaultInjector', 'FaultSpec', 'InjectedFault', 'fault_spec']
