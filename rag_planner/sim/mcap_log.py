"""
MCAP log of a run: JSON messages with JSON schemas, so Foxglove opens it.

Channels (topic names mirror the ROS graph): ``<planner>/events`` (the
PlanEvents), ``/bench/requests`` (one record per request as the sender saw
it), ``/bench/faults`` (fault switched on/off), ``/bench/rss`` (memory
samples).  Log times are wall-clock nanoseconds.
"""

import json
import math
import threading
import time
from typing import Optional

from mcap.writer import Writer

NUM = {'type': 'number'}
STR = {'type': 'string'}
BOOL = {'type': 'boolean'}
OPT_NUM = {'type': ['number', 'null']}
OPT_BOOL = {'type': ['boolean', 'null']}
TIME = {'type': 'object', 'properties': {'sec': {'type': 'integer'},
                                         'nsec': {'type': 'integer'}}}
LATENCY = {'type': 'object', 'properties': {k: NUM for k in (
    'embed_ms', 'retrieve_ms', 'generate_ms', 'validate_ms', 'total_ms')}}

SCHEMAS = {
    'rag_planner_interfaces/msg/PlanEvent': {
        'type': 'object', 'title': 'rag_planner_interfaces/msg/PlanEvent',
        'properties': {'timestamp': TIME, 'stamp': TIME, 'request_id': STR,
                       'robot_id': STR, 'source': STR, 'error_code': NUM, 'fallback': NUM,
                       'latency': LATENCY, 'slo_met': BOOL, 'cache_hit': BOOL,
                       'fallback_reason': STR}},
    'rag_planner/bench/Request': {
        'type': 'object', 'title': 'rag_planner/bench/Request',
        'properties': {'timestamp': TIME, 'planner': STR, 'robot_id': STR, 'request_id': STR,
                       'interface': STR, 'family': STR, 'task': STR, 'sim_t': NUM,
                       'rtt_ms': OPT_NUM, 'server_ms': OPT_NUM, 'source': STR,
                       'error_code': NUM, 'fallback_code': OPT_NUM,
                       'fallback_reason': STR, 'plan': STR, 'expected': STR,
                       'valid': OPT_BOOL, 'exact': OPT_BOOL, 'fault': STR, 'answered': BOOL}},
    'rag_planner/bench/Fault': {
        'type': 'object', 'title': 'rag_planner/bench/Fault',
        'properties': {'timestamp': TIME, 'sim_t': NUM, 'stage': STR, 'mode': STR,
                       'delay_ms': NUM, 'on': BOOL, 'label': STR}},
    'rag_planner/bench/Rss': {
        'type': 'object', 'title': 'rag_planner/bench/Rss',
        'properties': {'timestamp': TIME, 'process': STR, 'pid': {'type': 'integer'},
                       'rss_bytes': {'type': 'integer'}, 'cpu_percent': NUM}},
}


def _clean(obj):
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj


def stamp(ns: int) -> dict:
    """Return a {sec, nsec} time of nanoseconds."""
    return {'sec': int(ns // 1_000_000_000), 'nsec': int(ns % 1_000_000_000)}


class McapLog:
    """Thread-safe writer of JSON messages; close() finishes the file."""

    def __init__(self, path: str, max_messages: Optional[int] = None):
        self._file = open(path, 'wb')
        self._writer = Writer(self._file)
        self._writer.start(profile='', library='rag_planner bench')
        self._schemas: dict = {}
        self._channels: dict = {}
        self._lock = threading.Lock()
        self._seq = 0
        self.max_messages = max_messages
        self.written = 0
        self.dropped = 0

    def _channel(self, topic: str, schema_name: str) -> int:
        key = (topic, schema_name)
        if key not in self._channels:
            if schema_name not in self._schemas:
                self._schemas[schema_name] = self._writer.register_schema(
                    name=schema_name, encoding='jsonschema',
                    data=json.dumps(SCHEMAS[schema_name]).encode())
            self._channels[key] = self._writer.register_channel(
                topic=topic, message_encoding='json', schema_id=self._schemas[schema_name])
        return self._channels[key]

    def write(self, topic: str, schema_name: str, message: dict,
              log_time_ns: Optional[int] = None) -> None:
        """Write one message (dropped silently past ``max_messages``)."""
        ns = log_time_ns if log_time_ns is not None else time.time_ns()
        body = dict(message)
        body.setdefault('timestamp', stamp(ns))
        data = json.dumps(_clean(body), separators=(',', ':')).encode()
        with self._lock:
            if self._file.closed:
                return
            if self.max_messages is not None and self.written >= self.max_messages:
                self.dropped += 1
                return
            channel = self._channel(topic, schema_name)
            self._writer.add_message(channel_id=channel, log_time=ns, publish_time=ns,
                                     data=data, sequence=self._seq)
            self._seq += 1
            self.written += 1

    def close(self) -> None:
        """Write the summary section and close the file."""
        with self._lock:
            if not self._file.closed:
                self._writer.finish()
                self._file.close()
