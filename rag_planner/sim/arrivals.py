"""
Task arrivals: a Poisson process per robot, tasks drawn from the wording generator.

Every task comes with its exact expected plan (the wording generator builds
it from the entities it chose), so answers can be scored exactly.  The task
set is either every template, the templates the plan library was built from
(``train``), or the held-out templates (``heldout``) of
:func:`rag_planner.training.wording.split_templates`.
"""

from dataclasses import dataclass
import heapq
import math
import random
from typing import Optional

from rag_planner.domain.entities import extract_entities
from rag_planner.training.composites import composite_examples
from rag_planner.training.wording import Example, generate_examples, split_templates

TEMPLATE_SETS = ('all', 'train', 'heldout')


def template_ids(which: str, split_seed: int = 0) -> Optional[tuple]:
    """Return the template ids of a template set (None = all templates)."""
    if which not in TEMPLATE_SETS:
        raise ValueError(f'template set must be one of {TEMPLATE_SETS}, got {which!r}')
    if which == 'all':
        return None
    train, held = split_templates(split_seed)
    return train if which == 'train' else held


class TaskFeed:
    """
    An endless, deterministic stream of examples drawn in chunks.

    ``parts`` > 1: composite tasks of that many parts whose plans fit in ``max_steps``
    (:mod:`rag_planner.training.composites`; held-out templates are the dev split's,
    with held-out family combinations).
    """

    def __init__(self, seed: int, templates: str = 'all', split_seed: int = 0,
                 chunk: int = 512, parts: int = 0, max_steps: int = 16):
        self._seed = seed
        self._templates = templates
        self._ids = template_ids(templates, split_seed)
        self._chunk = chunk
        self._parts = parts
        self._max_steps = max_steps
        self._round = 0
        self._buffer: list = []

    def _draw(self, seed: int) -> list:
        if self._parts <= 1:
            return generate_examples(self._chunk, seed=seed, templates=self._ids)
        split, which = ('dev', 'held') if self._templates == 'heldout' else ('train', 'train')
        out = []
        for c in composite_examples(4 * self._chunk, seed, split, which, (self._parts,)):
            if len(c.plan) <= self._max_steps:
                out.append(Example('composite', '+'.join(c.template_ids), c.task, c.plan,
                                   extract_entities(c.task)))
        return out[:self._chunk]

    def next(self) -> Example:
        """Return the next example."""
        if not self._buffer:
            self._buffer = list(reversed(self._draw(self._seed * 1000003 + self._round)))
            self._round += 1
        return self._buffer.pop()


@dataclass(frozen=True, order=True)
class Arrival:
    """A task arriving for one robot at time ``t`` (seconds from the start)."""

    t: float
    robot_index: int


def poisson_times(rate_hz: float, duration_s: float, rng: random.Random,
                  start: float = 0.0) -> list:
    """Return the event times of a Poisson process of ``rate_hz`` in [start, duration)."""
    if not (math.isfinite(rate_hz) and rate_hz >= 0):
        raise ValueError(f'rate must be a finite number >= 0, got {rate_hz!r}')
    times = []
    if rate_hz == 0:
        return times
    t = start + rng.expovariate(rate_hz)
    while t < duration_s:
        times.append(t)
        t += rng.expovariate(rate_hz)
    return times


def periodic_times(rate_hz: float, duration_s: float, phase: float = 0.0) -> list:
    """Return evenly spaced times at ``rate_hz`` starting at ``phase / rate_hz``."""
    if not (math.isfinite(rate_hz) and rate_hz > 0):
        raise ValueError(f'rate must be a finite number > 0, got {rate_hz!r}')
    period = 1.0 / rate_hz
    n = int(math.ceil(duration_s * rate_hz))
    return [t for t in ((i + phase) * period for i in range(n)) if t < duration_s]


def fleet_arrivals(n_robots: int, rate_hz: float, duration_s: float, seed: int,
                   process: str = 'poisson') -> list:
    """
    Return the merged arrivals of ``n_robots`` robots, each at ``rate_hz``, sorted by time.

    ``process`` is ``poisson`` (independent exponential gaps per robot) or
    ``periodic`` (fixed period, robots evenly phase-shifted).
    """
    if n_robots < 1:
        raise ValueError(f'need at least one robot, got {n_robots}')
    streams = []
    for i in range(n_robots):
        if process == 'poisson':
            times = poisson_times(rate_hz, duration_s, random.Random(seed * 7919 + i))
        elif process == 'periodic':
            times = periodic_times(rate_hz, duration_s, phase=i / n_robots)
        else:
            raise ValueError(f'process must be poisson or periodic, got {process!r}')
        streams.append([Arrival(t, i) for t in times])
    return list(heapq.merge(*streams))
