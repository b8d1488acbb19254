"""
Pre-warmed LRU cache in front of the index: task text -> retrieved neighbours.

Two keys per task:

* the *exact* key: the task lower-cased with whitespace collapsed and trailing
  punctuation dropped (``"Stop now!"`` == ``"stop  now"``);
* the *template* key: the exact key with every id and number masked by its kind
  (``"pick 3 units of sku-48213 from a12-03"`` -> ``"pick <n> units of <sku> from
  <bin>"``), so a fleet sending the same wording with other ids still hits.

What is cached is the retrieval result -- neighbour ids and scores, i.e. *family
evidence*.  The entities of a plan always come from the current task text, never
from the cache, which is what makes the id-masked key safe.

The cache is warmed at start from the library (each entry's own retrieval) and from
the recently served tasks, which :meth:`PlanCache.save_recent` persists as JSON
together with a fingerprint (embedder model id + library version + index size);
:meth:`PlanCache.load_recent` ignores a file whose fingerprint does not match.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
import functools
import json
import os
from pathlib import Path
import re
import threading
from typing import Iterable, Optional

from rag_planner.domain.request import task_key

_SPACE_RE = re.compile(r'\s+')
_STATIONS = ('pack', 'dock', 'charger', 'staging', 'exception')
_NUMBER_WORDS = (
    'zero one two three four five six seven eight nine ten eleven twelve thirteen '
    'fourteen fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty '
    'sixty seventy eighty ninety hundred a\\s+dozen dozen').split()

_MASKS = (
    ('<bin>', re.compile(r'\b[a-f]\s?\d{1,2}\s?-\s?\d{1,2}\b')),
    ('<sku>', re.compile(r'\bsku\s*[-#:]?\s*\d{3,6}\b')),
    ('<tote>', re.compile(r'\btote\s*[-#:]?\s*(?:no\.?\s*|number\s*)?\d{1,4}\b')),
) + tuple(
    ('<' + name + '>', re.compile(
        r'\b' + name + r'(?:\s+(?:station|area|bay|point|zone|lane))?\s*[-#:]?\s*'
        r'(?:no\.?\s*|number\s*)?(?:\d{1,2}|' + '|'.join(_NUMBER_WORDS[:21]) + r')\b'))
    for name in _STATIONS
) + (
    ('<n>', re.compile(r'\b\d+(?:\.\d+)?\b')),
    ('<n>', re.compile(r'\b(?:' + '|'.join(_NUMBER_WORDS) + r')(?:[\s-](?:'
                       + '|'.join(_NUMBER_WORDS[1:10]) + r'))?\b')),
)


@functools.lru_cache(maxsize=4096)
def template_key(task: str) -> str:
    """
    Return the task's key with ids and numbers masked by kind (memoized).

    A request asks for it up to four times (the retrieval cache's lookup and store, the
    plan skeleton cache's), each a pass of a dozen patterns.
    """
    text = task_key(task)
    for placeholder, pattern in _MASKS:
        text = pattern.sub(placeholder, text)
    text = re.sub(r'[^\w<>\s]', ' ', text)
    return _SPACE_RE.sub(' ', text).strip()


@dataclass(frozen=True)
class CachedRetrieval:
    """Neighbour ids and scores of one retrieval."""

    ids: tuple
    scores: tuple

    def to_json(self) -> list:
        """Return a JSON-friendly form."""
        return [list(self.ids), [round(float(s), 6) for s in self.scores]]

    @classmethod
    def from_json(cls, data) -> 'CachedRetrieval':
        """Inverse of :meth:`to_json`."""
        ids, scores = data
        return cls(tuple(str(i) for i in ids), tuple(float(s) for s in scores))


@dataclass(frozen=True)
class CacheHit:
    """A cache answer and which key produced it ('exact' or 'template')."""

    value: CachedRetrieval
    kind: str


class PlanCache:
    """Thread-safe LRU of retrievals, keyed by exact text and by template key."""

    def __init__(self, capacity: int = 4096, use_template_key: bool = True,
                 fingerprint: str = ''):
        """Create an empty cache holding up to ``capacity`` keys of each kind (0: off)."""
        if capacity < 0:
            raise ValueError('capacity must be >= 0')
        self.capacity = int(capacity)
        self.use_template_key = bool(use_template_key)
        self.fingerprint = fingerprint
        self._exact: OrderedDict = OrderedDict()
        self._template: OrderedDict = OrderedDict()
        self._recent: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self.hits_exact = 0
        self.hits_template = 0
        self.misses = 0

    def __len__(self) -> int:
        """Return the number of exact keys held."""
        return len(self._exact)

    @staticmethod
    def _touch(store: OrderedDict, key: str, value, capacity: int) -> None:
        store[key] = value
        store.move_to_end(key)
        while len(store) > capacity:
            store.popitem(last=False)

    def get(self, task: str) -> Optional[CacheHit]:
        """Return the cached retrieval for ``task`` or ``None``; counts hits/misses."""
        key = task_key(task)
        with self._lock:
            value = self._hit(self._exact, key, key)
            if value is not None:
                self.hits_exact += 1
                return CacheHit(value, 'exact')
            if self.use_template_key:
                value = self._hit(self._template, template_key(task), key)
                if value is not None:
                    self.hits_template += 1
                    return CacheHit(value, 'template')
            self.misses += 1
            return None

    def _hit(self, store: OrderedDict, store_key: str, recent_key: str):
        """Look ``store_key`` up; on a hit refresh it and remember the task as recent."""
        value = store.get(store_key)
        if value is not None:
            store.move_to_end(store_key)
            self._touch(self._recent, recent_key, value, self.capacity)
        return value

    def put(self, task: str, value: CachedRetrieval, served: bool = True) -> None:
        """Store a retrieval under both keys (``served`` marks it as a recent task)."""
        key = task_key(task)
        with self._lock:
            self._touch(self._exact, key, value, self.capacity)
            if self.use_template_key:
                self._touch(self._template, template_key(task), value, self.capacity)
            if served:
                self._touch(self._recent, key, value, self.capacity)

    def warm(self, items: Iterable) -> int:
        """Insert ``(task, CachedRetrieval)`` pairs without marking them as served."""
        count = 0
        for task, value in items:
            self.put(task, value, served=False)
            count += 1
        return count

    @property
    def hit_ratio(self) -> float:
        """Return hits / lookups (0 when there were none)."""
        total = self.hits_exact + self.hits_template + self.misses
        return (self.hits_exact + self.hits_template) / total if total else 0.0

    def stats(self) -> dict:
        """Return counters as a dict."""
        return {'hits_exact': self.hits_exact, 'hits_template': self.hits_template,
                'misses': self.misses, 'hit_ratio': self.hit_ratio, 'size': len(self._exact),
                'template_size': len(self._template), 'recent': len(self._recent)}

    # ------------------------------------------------------------ persistence
    def save_recent(self, path, limit: int = 1000) -> int:
        """Persist the most recently served tasks (atomic write); return how many."""
        with self._lock:
            items = list(self._recent.items())[-limit:]
        data = {'fingerprint': self.fingerprint,
                'recent': [[key, value.to_json()] for key, value in items]}
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name('.' + path.name + '.tmp')
        tmp.write_text(json.dumps(data), encoding='utf-8')
        os.replace(tmp, path)
        return len(items)

    def load_recent(self, path) -> int:
        """Warm from a file written by :meth:`save_recent`; 0 if absent/stale/corrupt."""
        try:
            data = json.loads(Path(path).read_text(encoding='utf-8'))
            if data.get('fingerprint') != self.fingerprint:
                return 0
            items = [(key, CachedRetrieval.from_json(value)) for key, value in data['recent']]
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return 0
        for key, value in items:
            self.put(key, value, served=True)
        return len(items)
