"""The watchdog: earliest deadline first, no hand-over of answered requests."""

import threading
import time

from rag_planner.serving.watchdog import Watchdog


class _Pending:
    def __init__(self, seq: int):
        self.seq = seq
        self.answered = False


def _watchdog(tick_s: float = 0.05):
    due, event = [], threading.Event()

    def on_due(pending, now, at):
        due.append((pending.seq, now, at))
        event.set()
    return Watchdog(on_due, lambda: None, tick_s=tick_s), due, event


def test_an_earlier_deadline_armed_after_a_later_one_is_handed_over_first():
    # arm() wakes the thread only for a new earliest deadline: this one must (the tick
    # of 10 s would be too late)
    dog, due, event = _watchdog(tick_s=10.0)
    try:
        now = time.monotonic()
        dog.arm(_Pending(1), now + 5.0)
        dog.arm(_Pending(2), now + 0.02)
        assert event.wait(2.0)
        assert due[0][0] == 2 and due[0][1] >= due[0][2]
    finally:
        dog.close()


def test_answered_requests_are_never_handed_over():
    dog, due, event = _watchdog()
    try:
        now = time.monotonic()
        done, live = _Pending(1), _Pending(2)
        dog.arm(done, now + 0.03)
        dog.arm(live, now + 0.06)
        done.answered = True
        assert event.wait(2.0)
        time.sleep(0.05)
        assert [seq for seq, _, _ in due] == [2]
    finally:
        dog.close()
