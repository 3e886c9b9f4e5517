"""The shared rates hold under concurrency, on the real Redis."""

from __future__ import annotations

import threading
import time
import uuid

from astro.core.ratelimit import limit_take, pace_hold, pace_reserve


def _name() -> str:
    return f"test-{uuid.uuid4().hex}"


def test_a_limit_lets_exactly_count_through_under_concurrent_requests():
    name, allowed, barrier = _name(), [], threading.Barrier(20)

    def request():
        barrier.wait()
        allowed.append(limit_take(name, count=5, period=60) is None)

    threads = [threading.Thread(target=request) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert allowed.count(True) == 5


def test_a_refused_request_is_told_how_long_to_wait_and_takes_nothing():
    name = _name()
    assert limit_take(name, count=2, period=60) is None
    assert limit_take(name, count=2, period=60) is None
    wait = limit_take(name, count=2, period=60)
    assert 0 < wait <= 30
    assert limit_take(name, count=2, period=60) is not None  # still refused: the refusal took no slot


def test_paced_callers_get_slots_spacing_apart():
    name = _name()
    waits = sorted(pace_reserve(name, spacing=2.0) for _ in range(4))
    assert waits[0] < 0.5
    for earlier, later in zip(waits, waits[1:]):
        assert 1.9 <= later - earlier <= 2.1


def test_a_hold_pushes_the_next_slot_back():
    name = _name()
    pace_hold(name, seconds=30)
    assert 29 <= pace_reserve(name, spacing=1.0) <= 30
    # A hold shorter than what is already booked changes nothing.
    pace_hold(name, seconds=1)
    assert pace_reserve(name, spacing=1.0) >= 30


def test_slots_free_up_as_time_passes():
    name = _name()
    assert limit_take(name, count=1, period=0.2) is None
    assert limit_take(name, count=1, period=0.2) is not None
    time.sleep(0.25)
    assert limit_take(name, count=1, period=0.2) is None
