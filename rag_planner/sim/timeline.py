"""
The scheduled fault timeline of a simulation run.

A timeline is a list of :class:`FaultEvent`: from sim time ``start_s`` for
``duration_s`` seconds the planners run with ``fault.stage``/``fault.mode``/
``fault.delay_ms`` set.  Written form, comma-separated::

    START+DURATION:STAGE:MODE[:DELAY_MS]
    60+30:retrieve:hang, 150+30:retrieve:delay:200, 240+30:embed:error

or a YAML/JSON list of mappings with the keys start_s, duration_s, stage,
mode, delay_ms.  Windows must not overlap (one fault at a time, as the
planner parameters allow).
"""

from dataclasses import dataclass
import json
from typing import Optional, Sequence

STAGES = ('embed', 'retrieve', 'generate')
MODES = ('delay', 'hang', 'error', 'garbage')
# Stages each planner variant runs (a fault elsewhere cannot touch it).
PIPELINE_STAGES = {
    'rule_based': (),
    'retrieved': ('embed', 'retrieve'),
    'generated': ('embed', 'retrieve', 'generate'),
    'auto': ('embed', 'retrieve', 'generate'),
}


@dataclass(frozen=True)
class FaultEvent:
    """One fault window."""

    start_s: float
    duration_s: float
    stage: str
    mode: str
    delay_ms: float = 200.0

    def __post_init__(self) -> None:
        """Reject unknown stages/modes and negative times."""
        if self.stage not in STAGES:
            raise ValueError(f'fault stage must be one of {STAGES}, got {self.stage!r}')
        if self.mode not in MODES:
            raise ValueError(f'fault mode must be one of {MODES}, got {self.mode!r}')
        if not (self.start_s >= 0 and self.duration_s > 0 and self.delay_ms >= 0):
            raise ValueError(f'fault times must be start >= 0, duration > 0, delay >= 0: {self}')

    @property
    def end_s(self) -> float:
        """Sim time the fault is cleared."""
        return self.start_s + self.duration_s

    @property
    def label(self) -> str:
        """Short text for plots and logs."""
        extra = f' {self.delay_ms:g} ms' if self.mode == 'delay' else ''
        return f'{self.stage} {self.mode}{extra}'

    def params(self) -> dict:
        """Return the planner parameters that switch this fault on."""
        return {'fault.stage': self.stage, 'fault.mode': self.mode,
                'fault.delay_ms': float(self.delay_ms)}

    def forces_fallback(self, pipeline: str, budgets: dict,
                        cache_hit: bool = False) -> Optional[bool]:
        """
        Say whether a request hit by this fault must be answered in a degraded way.

        Degraded means the fallback chain answered or a stage fell back inside
        (exact k-NN for a slow index): either way the answer names it in
        ``fallback_reason`` (for garbage from the generator: a plan that failed
        validation).  True: it must; False: it must not (the stage is
        not on the pipeline's path, or the delay fits in its budget); None:
        either is correct (a retrieval-cache hit skips embed and index; garbage
        may survive validation; a delay near its budget).
        """
        if self.stage not in PIPELINE_STAGES.get(pipeline, STAGES):
            return False
        if cache_hit and self.stage != 'generate':
            return None
        if self.mode in ('hang', 'error'):
            return True
        if self.mode == 'garbage':
            # A garbage plan fails validation, a garbage index answer sends retrieval to
            # exact k-NN; a garbage embedding may still lead to the right plan.
            return None if self.stage == 'embed' else True
        if self.stage == 'generate':
            budget = float(budgets.get('generate_budget_ms', 60.0))
        elif self.stage == 'retrieve':
            budget = float(budgets.get('retrieve_budget_ms', 10.0))
        else:
            budget = float(budgets.get('retrieval_timeout_ms', 120.0))
        budget = min(budget, float(budgets.get('deadline_ms', 150.0))
                     - float(budgets.get('fallback_reserve_ms', 8.0)))
        if self.delay_ms > budget * 1.5 + 5:
            return True
        if self.delay_ms < budget * 0.5:
            return False
        return None


OFF_PARAMS = {'fault.stage': ''}


def parse_event(text: str) -> FaultEvent:
    """Parse ``START+DURATION:STAGE:MODE[:DELAY_MS]``."""
    parts = [p.strip() for p in text.strip().split(':')]
    if len(parts) not in (3, 4) or '+' not in parts[0]:
        raise ValueError(f'bad fault {text!r}: expected START+DURATION:STAGE:MODE[:DELAY_MS]')
    start, duration = parts[0].split('+', 1)
    try:
        kw = dict(start_s=float(start), duration_s=float(duration), stage=parts[1],
                  mode=parts[2])
        if len(parts) == 4:
            kw['delay_ms'] = float(parts[3])
    except ValueError:
        raise ValueError(f'bad fault {text!r}: times must be numbers') from None
    return FaultEvent(**kw)


def parse_timeline(spec: str) -> list:
    """
    Parse a timeline: the comma-separated written form, or a YAML/JSON list.

    Raises ValueError on a bad event or overlapping windows.
    """
    spec = (spec or '').strip()
    if not spec:
        return []
    if spec.startswith('[') or spec.startswith('-') or '\n' in spec:
        events = _from_documents(spec)
    else:
        events = [parse_event(part) for part in spec.split(',') if part.strip()]
    return check_timeline(events)


def _from_documents(spec: str) -> list:
    try:
        doc = json.loads(spec)
    except ValueError:
        import yaml
        doc = yaml.safe_load(spec)
    if not isinstance(doc, list):
        raise ValueError('a fault timeline document must be a list of mappings')
    events = []
    for item in doc:
        if isinstance(item, str):
            events.append(parse_event(item))
        elif isinstance(item, dict):
            known = {'start_s', 'duration_s', 'stage', 'mode', 'delay_ms'}
            unknown = set(item) - known
            if unknown:
                raise ValueError(f'unknown fault keys {sorted(unknown)}')
            events.append(FaultEvent(**item))
        else:
            raise ValueError(f'bad fault entry {item!r}')
    return events


def check_timeline(events: Sequence[FaultEvent]) -> list:
    """Return the events sorted by start; raise ValueError when windows overlap."""
    ordered = sorted(events, key=lambda e: e.start_s)
    for a, b in zip(ordered, ordered[1:]):
        if b.start_s < a.end_s:
            raise ValueError(f'fault windows overlap: {a.label} at {a.start_s:g}+'
                             f'{a.duration_s:g} and {b.label} at {b.start_s:g}')
    return ordered


def transitions(events: Sequence[FaultEvent]) -> list:
    """Return (sim time, parameters to set, event or None) in time order."""
    out = []
    for event in events:
        out.append((event.start_s, event.params(), event))
        out.append((event.end_s, dict(OFF_PARAMS), None))
    return sorted(out, key=lambda x: (x[0], x[2] is not None))


def scale(events: Sequence[FaultEvent], factor: float) -> list:
    """Return the events with times multiplied by ``factor`` (fit a timeline to a run)."""
    return [FaultEvent(e.start_s * factor, e.duration_s * factor, e.stage, e.mode, e.delay_ms)
            for e in events]


def default_shift_timeline(duration_s: float) -> list:
    """
    Return the standard fault schedule of a shift of ``duration_s`` sim seconds.

    Five windows, each 5 % of the shift, spread over it: retrieval hang,
    retrieval delay of 200 ms, embed exception, generator hang and generator
    garbage.
    """
    kinds = (('retrieve', 'hang', 200.0), ('retrieve', 'delay', 200.0),
             ('embed', 'error', 200.0), ('generate', 'hang', 200.0),
             ('generate', 'garbage', 200.0))
    width = 0.05 * duration_s
    events = []
    for i, (stage, mode, delay) in enumerate(kinds):
        start = duration_s * (0.1 + 0.16 * i)
        events.append(FaultEvent(round(start, 3), round(width, 3), stage, mode, delay))
    return check_timeline(events)
