"""Fault injection for tests and demos: delay, hang, error or garbage in one stage."""

from dataclasses import dataclass
import threading
import time

STAGES = ('embed', 'retrieve', 'generate')
MODES = ('delay', 'hang', 'error', 'garbage')
HANG_LIMIT_S = 600.0


class InjectedFault(RuntimeError):
    """The error raised by fault mode ``error``."""


@dataclass(frozen=True)
class FaultSpec:
    """Which stage misbehaves and how; stage '' means off."""

    stage: str = ''
    mode: str = 'delay'
    delay_ms: float = 200.0


class FaultInjector:
    """Called at the start of each stage; misbehaves as the current spec says."""

    def __init__(self, spec: FaultSpec = FaultSpec()):
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
