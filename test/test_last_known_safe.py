"""The last-known safe plan store: per robot and per task, bounded, persisted, robust."""

import builtins
import json
import os
import threading

import pytest

from rag_planner.domain.plan_grammar import format_plan, parse_plan
from rag_planner.domain.request import task_key
import rag_planner.serving.last_known_safe as lks
from rag_planner.serving.last_known_safe import SafePlanStore

PICK = 'Pick 3 units of SKU-48213 from A12-03 and bring them to PACK-4.'
PICK_PLAN = tuple(parse_plan('NAVIGATE A12-03; SCAN A12-03; PICK SKU-48213 3; '
                             'NAVIGATE PACK-4; PLACE PACK-4; REPORT DONE SKU-48213'))
CHARGE = 'Go charge at CHARGER-3.'
CHARGE_PLAN = tuple(parse_plan('NAVIGATE CHARGER-3; CHARGE CHARGER-3'))


def plan(i):
    """Return a distinct valid plan for number ``i`` (up to 4800 of them)."""
    zone, aisle, bay = 'ABCDEF'[i % 6], i // 6 % 40 + 1, i // 240 % 20 + 1
    return tuple(parse_plan(f'NAVIGATE {zone}{aisle:02d}-{bay:02d}; HALT'))


def task(i):
    """Return the text of task number ``i``."""
    return f'Go to waypoint number {i} and park.'


def store_at(tmp_path, name='safe.json', **kw):
    """Return a store persisted to ``tmp_path/name``."""
    return SafePlanStore(str(tmp_path / name), **kw)


def aside_files(tmp_path, tag):
    """Return the files set aside with ``tag`` (e.g. 'v1', 'oversized', 'unreadable')."""
    return sorted(p for p in tmp_path.iterdir() if p.name.startswith(f'safe.json.{tag}-'))


def read_doc(tmp_path, name='safe.json'):
    """Return the parsed file."""
    return json.loads((tmp_path / name).read_text(encoding='utf-8'))


def test_same_task_served_other_task_and_other_robot_never(tmp_path):
    store = store_at(tmp_path)
    store.put('r1', PICK, PICK_PLAN)
    assert store.get('r1', PICK) == PICK_PLAN
    assert store.get('r1', CHARGE) is None  # same robot, another task
    assert store.get('r2', PICK) is None  # another robot, same task
    store.put('r1', CHARGE, CHARGE_PLAN)
    store.put('r2', PICK, plan(7))
    assert store.get('r1', PICK) == PICK_PLAN
    assert store.get('r1', CHARGE) == CHARGE_PLAN
    assert store.get('r2', PICK) == plan(7)
    assert store.get('r2', CHARGE) is None
    # a new plan for the same task replaces the old one
    store.put('r1', PICK, plan(3))
    assert store.get('r1', PICK) == plan(3)
    assert store.flush()
    store.close()


def test_task_keys_normalize_case_spacing_and_end_punctuation():
    store = SafePlanStore(None)
    store.put('r1', 'Stop now.', plan(1))
    for same in ('stop now', '  STOP   now!', 'Stop\tnow?', 'stop now...'):
        assert task_key(same) == task_key('Stop now.')
        assert store.get('r1', same) == plan(1)
    for other in ('stop', 'stop now please', 'stopnow'):
        assert task_key(other) != task_key('Stop now.')
        assert store.get('r1', other) is None
    assert list(store.snapshot()['r1']) == [task_key('Stop now.')]


def test_empty_robot_or_task_key_and_bad_arguments_are_ignored():
    store = SafePlanStore(None)
    store.put('', PICK, PICK_PLAN)
    store.put('r1', '  ...!  ', PICK_PLAN)
    store.put('r1', '', PICK_PLAN)
    store.put(None, PICK, PICK_PLAN)
    store.put('r1', None, PICK_PLAN)
    store.put('r1', PICK, ())
    store.put('r1', PICK, ('NAVIGATE A12-03',))  # not Step objects
    assert store.snapshot() == {}
    assert store.get('', PICK) is None
    assert store.get('r1', '...') is None
    assert store.get(None, PICK) is None
    assert store.get('r1', None) is None
    assert store.flush() and store.path is None


def test_lru_bound_per_robot(tmp_path):
    store = store_at(tmp_path, max_tasks_per_robot=3)
    for i in range(3):
        store.put('r1', task(i), plan(i))
    store.put('r1', task(0), plan(0))  # put again: now the most recent
    store.put('r1', task(3), plan(3))  # evicts task 1, the least recently put
    assert store.get('r1', task(1)) is None
    assert [store.get('r1', task(i)) for i in (0, 2, 3)] == [plan(0), plan(2), plan(3)]
    assert list(store.snapshot()['r1']) == [task_key(task(i)) for i in (2, 0, 3)]
    assert store.flush()
    assert list(read_doc(tmp_path)['plans']['r1']) == [task_key(task(i)) for i in (2, 0, 3)]
    store.close()


def test_lru_bound_across_robots(tmp_path):
    store = store_at(tmp_path, max_robots=2)
    store.put('r1', PICK, PICK_PLAN)
    store.put('r2', PICK, plan(2))
    store.put('r1', CHARGE, CHARGE_PLAN)  # r1 is now the most recently put robot
    store.put('r3', PICK, plan(3))  # evicts r2
    assert store.get('r2', PICK) is None
    assert store.get('r1', PICK) == PICK_PLAN and store.get('r3', PICK) == plan(3)
    assert list(store.snapshot()) == ['r1', 'r3']
    assert store.flush()
    assert list(read_doc(tmp_path)['plans']) == ['r1', 'r3']
    store.close()


def test_file_stays_within_max_bytes(tmp_path):
    max_bytes = 4096
    store = store_at(tmp_path, max_bytes=max_bytes, min_write_interval_s=0.0)
    for i in range(600):
        store.put(f'r{i % 7}', task(i), plan(i))
        if i % 50 == 0:
            assert store.flush()
            assert os.path.getsize(tmp_path / 'safe.json') <= max_bytes
    assert store.flush() and not store.write_problem
    size = os.path.getsize(tmp_path / 'safe.json')
    assert max_bytes // 2 < size <= max_bytes  # bounded, but not emptied
    assert store.get('r4', task(599)) == plan(599)  # the newest survives
    assert store.get('r0', task(0)) is None  # the oldest went
    again = store_at(tmp_path, max_bytes=max_bytes)
    assert not again.load_problem
    assert again.snapshot() == store.snapshot()  # memory and file hold the same plans
    store.close()
    again.close()


def test_byte_eviction_reaches_the_file_of_an_idle_robot(tmp_path):
    store = store_at(tmp_path, max_bytes=1024, min_write_interval_s=0.0)
    for i in range(4):
        store.put('idle', task(i), plan(i))
    assert store.flush()
    for i in range(4, 40):  # only 'busy' puts; room is made by evicting 'idle' first
        store.put('busy', task(i), plan(i))
        assert store.flush()
        again = store_at(tmp_path, max_bytes=1024)
        assert again.snapshot() == store.snapshot(), i
        again.close()
    assert 'idle' not in store.snapshot()
    assert 'idle' not in read_doc(tmp_path)['plans']
    store.close()


def test_survives_restart_with_order(tmp_path):
    store = store_at(tmp_path, max_tasks_per_robot=3, max_robots=2)
    store.put('r1', task(0), plan(0))
    store.put('r1', task(1), plan(1))
    store.put('r2', PICK, PICK_PLAN)
    store.put('r1', task(2), plan(2))
    store.close()
    doc = read_doc(tmp_path)
    assert doc['version'] == 2
    assert doc['plans'] == {'r2': {task_key(PICK): format_plan(PICK_PLAN)},
                            'r1': {task_key(task(i)): format_plan(plan(i)) for i in range(3)}}
    again = store_at(tmp_path, max_tasks_per_robot=3, max_robots=2)
    assert not again.load_problem
    assert again.get('r2', PICK) == PICK_PLAN
    assert [again.get('r1', task(i)) for i in range(3)] == [plan(i) for i in range(3)]
    assert again.get('r1', PICK) is None
    # the least-recently-put order came back from the file too
    again.put('r1', task(3), plan(3))
    assert again.get('r1', task(0)) is None and again.get('r1', task(1)) == plan(1)
    again.put('r3', PICK, plan(9))
    assert again.get('r2', PICK) is None and again.get('r1', task(3)) == plan(3)
    again.close()


def test_version_1_file_is_set_aside_and_never_served(tmp_path):
    v1 = json.dumps({'version': 1, 'plans': {'r7': format_plan(PICK_PLAN),
                                             'r8': format_plan(CHARGE_PLAN)}})
    (tmp_path / 'safe.json').write_text(v1)
    store = store_at(tmp_path)
    assert store.snapshot() == {}
    for robot in ('r7', 'r8'):
        for text in (PICK, CHARGE, '', format_plan(PICK_PLAN)):
            assert store.get(robot, text) is None
    [aside] = aside_files(tmp_path, 'v1')
    assert aside.read_text() == v1
    assert not (tmp_path / 'safe.json').exists()
    assert 'version 1' in store.load_problem and str(aside) in store.load_problem
    assert '\n' not in store.load_problem
    store.put('r7', PICK, PICK_PLAN)
    store.close()
    assert read_doc(tmp_path)['version'] == 2
    assert aside.read_text() == v1


def test_oversized_file_is_set_aside_without_being_read(tmp_path, monkeypatch):
    doc = {'version': 2, 'plans': {'r1': {task_key(PICK): format_plan(PICK_PLAN)}}}
    body = json.dumps(doc) + ' ' * 5000
    (tmp_path / 'safe.json').write_text(body)
    opened = []
    real_open = builtins.open

    def spy_open(file, *args, **kwargs):
        opened.append(os.fspath(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(lks, 'open', spy_open, raising=False)
    store = store_at(tmp_path, max_bytes=1024)
    assert str(tmp_path / 'safe.json') not in opened
    assert store.get('r1', PICK) is None and store.snapshot() == {}
    [aside] = aside_files(tmp_path, 'oversized')
    assert aside.read_text() == body
    assert 'max_bytes' in store.load_problem and str(aside) in store.load_problem
    store.close()


@pytest.mark.parametrize('content', [
    b'{"version": 2, "plans": {"r7": {"stop now": "HALT"}',  # truncated
    b'\xff\xfe\x00garbage',
    b'',
    b'[1, 2, 3]',
    b'{"version": 3, "plans": {"r7": {"stop now": "HALT"}}}',
    b'{"version": true, "plans": {"r7": "HALT"}}',
    b'{"version": 2, "plans": ["HALT"]}',
    b'{"plans": {"r7": {"stop now": "HALT"}}}',
])
def test_unreadable_file_is_set_aside(tmp_path, content):
    (tmp_path / 'safe.json').write_bytes(content)
    store = store_at(tmp_path)
    assert store.get('r7', 'stop now') is None and store.snapshot() == {}
    [aside] = aside_files(tmp_path, 'unreadable')
    assert aside.read_bytes() == content
    assert 'unreadable' in store.load_problem and str(aside) in store.load_problem
    assert not (tmp_path / 'safe.json').exists()
    store.close()


def test_unparseable_entries_are_dropped_one_by_one(tmp_path):
    doc = {'version': 2, 'plans': {
        'r1': {task_key(PICK): format_plan(PICK_PLAN), 'fly away': 'FLY AWAY',
               'Go charge at CHARGER-3!': format_plan(CHARGE_PLAN)},
        'r2': {task_key(PICK): 'NAVIGATE Z99-99'},
        'r3': 'HALT',
        'r4': {'stop now': 'HALT'},
    }}
    (tmp_path / 'safe.json').write_text(json.dumps(doc))
    store = store_at(tmp_path)
    assert store.get('r1', PICK) == PICK_PLAN
    assert store.get('r1', CHARGE) == CHARGE_PLAN  # stored key normalized on load
    assert store.get('r4', 'Stop now.') == tuple(parse_plan('HALT'))
    assert store.get('r1', 'fly away') is None and store.get('r2', PICK) is None
    assert store.get('r3', 'halt') is None
    assert 'dropped 3' in store.load_problem and 'kept 3' in store.load_problem
    assert (tmp_path / 'safe.json').exists() and not aside_files(tmp_path, 'unreadable')
    store.close()


def test_write_failure_sets_write_problem_and_never_raises(tmp_path, monkeypatch):
    monkeypatch.setattr(lks, '_RETRY_S', 0.05)
    blocker = tmp_path / 'blocker'
    blocker.write_text('a file where a folder should be')
    path = blocker / 'safe.json'
    store = SafePlanStore(str(path), min_write_interval_s=0.0)
    store.put('r1', PICK, PICK_PLAN)  # does not raise
    assert store.flush(5.0) is False
    assert 'cannot write' in store.write_problem and str(path) in store.write_problem
    assert store.get('r1', PICK) == PICK_PLAN  # still served from memory
    store.put('r1', CHARGE, CHARGE_PLAN)
    assert store.flush(5.0) is False
    # the disk comes back: the writer retries by itself
    blocker.unlink()
    blocker.mkdir()
    for _ in range(200):
        if path.exists() and not store.write_problem:
            break
        threading.Event().wait(0.05)
    assert store.write_problem == '' and store.flush(5.0)
    assert set(json.loads(path.read_text())['plans']['r1']) == {task_key(PICK), task_key(CHARGE)}
    store.close()


@pytest.mark.skipif(os.geteuid() == 0, reason='root writes into read-only folders')
def test_read_only_folder_sets_write_problem(tmp_path):
    folder = tmp_path / 'ro'
    folder.mkdir()
    folder.chmod(0o500)
    try:
        store = SafePlanStore(str(folder / 'safe.json'))
        store.put('r1', PICK, PICK_PLAN)
        assert store.flush(5.0) is False and 'cannot write' in store.write_problem
        store.close()
    finally:
        folder.chmod(0o700)


def test_concurrent_puts_leave_a_whole_loadable_file(tmp_path):
    store = store_at(tmp_path, max_tasks_per_robot=5, min_write_interval_s=0.0)
    path = tmp_path / 'safe.json'
    stop = threading.Event()
    torn = []

    def reader():
        while not stop.is_set():
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                continue
            try:
                assert json.loads(data)['version'] == 2
            except Exception as exc:  # noqa: B902 - record any torn read
                torn.append(repr(exc))

    def writer(n):
        for i in range(150):
            store.put(f'r{(n + i) % 6}', task(i), plan(n * 150 + i))

    watcher = threading.Thread(target=reader)
    watcher.start()
    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.flush(10.0) and not store.write_problem
    stop.set()
    watcher.join()
    assert not torn
    assert all(len(tasks) <= 5 for tasks in store.snapshot().values())
    again = store_at(tmp_path)
    assert not again.load_problem
    assert again.snapshot() == store.snapshot()
    assert not [p for p in tmp_path.iterdir() if '.tmp-' in p.name]
    store.close()
    again.close()
