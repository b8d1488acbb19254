"""bench_reload's accounting: lost, late, answers without a generation, the tampered one."""

from rag_planner.sim.bench_reload import _report, _timeline
from rag_planner.sim.records import RequestRecord


class _Result:
    def __init__(self, records):
        self.records = records


def _record(i, answered=True, rtt=20.0, generation='gen-a', fallback=0):
    r = RequestRecord(planner='pipeline', robot_id='r', request_id=str(i), interface='service',
                      family='pick', template_id='t', task='x', sent=i * 1.0)
    r.answered, r.rtt_ms, r.generation, r.fallback_code = answered, rtt, generation, fallback
    return r


def test_report_counts_what_the_issue_asks():
    records = [_record(0), _record(1, rtt=170.0), _record(2, generation=''),
               _record(3, generation='gen-t'), _record(4, answered=False), _record(6, fallback=4)]
    report = _report(_Result(records), {'deadline_ms': 150.0}, [], 'gen-t')
    assert report['sent'] == 6 and report['lost'] == 1
    assert report['beyond_deadline_plus_10ms'] == 1
    assert report['without_generation'] == 1 and report['served_by_tampered'] == 1
    assert report['answers_per_generation'] == {'gen-a': 3, '(no event)': 1, 'gen-t': 1}
    rows = _timeline(records)
    assert [row['answers'] for row in rows] == [4, 1]  # (5 s bins; one lost)
    assert rows[1]['fallbacks'] == 1 and rows[0]['p99_ms'] == 170.0
