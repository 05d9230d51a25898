"""An interrupt that lands while a worker pool starts reaches the caller unchanged.

A fresh-clone CI run sent SIGTERM to ``avsvt run`` while the corpus step's pool was starting its
manager thread: ``with ProcessPoolExecutor`` then raised ``RuntimeError("cannot join thread before
it is started")`` over the interrupt and the user saw a traceback instead of "interrupted; rerun".
Here the interrupt is raised at that very point: ``Thread.start`` is interrupted before the thread
is up, and the thread comes up a moment later (as the OS thread does).
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from concurrent.futures import process

import pytest

from avsvt.parallel import worker_pool


class Interrupt(BaseException):
    """Stands for the CLI's ``Terminated`` (a BaseException raised by the SIGTERM handler)."""


def _interrupted_start(
    monkeypatch: pytest.MonkeyPatch, *, comes_up: bool = True
) -> list[process._ExecutorManagerThread]:
    started: list[process._ExecutorManagerThread] = []
    real_start = process._ExecutorManagerThread.start

    def start(self: process._ExecutorManagerThread) -> None:
        started.append(self)
        if comes_up:
            threading.Timer(0.2, real_start, (self,)).start()
        raise Interrupt

    monkeypatch.setattr(process._ExecutorManagerThread, "start", start)
    return started


def test_an_interrupt_while_the_pool_starts_comes_through_unchanged(monkeypatch):
    started = _interrupted_start(monkeypatch)
    with pytest.raises(Interrupt), worker_pool(2) as pool:
        pool.submit(abs, -1)
    # and nothing is left behind: the manager thread comes up, sees the shutdown, ends the workers
    assert len(started) == 1
    deadline = time.monotonic() + 30
    while (started[0].ident is None or started[0].is_alive()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert started[0].ident is not None and not started[0].is_alive()


def _wait_gone(children: set[multiprocessing.Process], within_s: float) -> set[int]:
    deadline = time.monotonic() + within_s
    while any(c.is_alive() for c in children) and time.monotonic() < deadline:
        time.sleep(0.05)
    return {c.pid for c in children if c.is_alive() and c.pid is not None}


def test_workers_that_no_thread_will_ever_stop_are_ended(monkeypatch):
    # the interrupt came after the workers were forked and before the manager thread ran: no job
    # reached them and nothing would tell them to stop, so the interpreter's exit (which joins
    # child processes) would wait for ever; a loaded machine hung so in the SIGTERM run test
    _interrupted_start(monkeypatch, comes_up=False)
    before = set(multiprocessing.active_children())
    with pytest.raises(Interrupt), worker_pool(2) as pool:
        pool.submit(abs, -1)
    assert _wait_gone(set(multiprocessing.active_children()) - before, within_s=10) == set()


def test_the_plain_executor_leaves_such_workers_waiting(monkeypatch):
    # the oracle: with the standard library's context manager the workers stay
    _interrupted_start(monkeypatch, comes_up=False)
    before = set(multiprocessing.active_children())
    with pytest.raises((Interrupt, RuntimeError)):
        with process.ProcessPoolExecutor(2) as pool:
            pool.submit(abs, -1)
    stuck = set(multiprocessing.active_children()) - before
    try:
        assert len(_wait_gone(stuck, within_s=2)) == 2
    finally:
        for child in stuck:
            child.terminate()
            child.join()


def test_the_plain_executor_hides_that_interrupt(monkeypatch):
    # the oracle for the test above: the standard library's own context manager fails here
    _interrupted_start(monkeypatch)
    with pytest.raises(RuntimeError, match="cannot join thread"):
        with process.ProcessPoolExecutor(2) as pool:
            pool.submit(abs, -1)


def test_queued_jobs_are_cancelled_and_finished_results_kept():
    with pytest.raises(KeyError), worker_pool(1) as pool:
        first = pool.submit(time.sleep, 0.0)
        first.result()
        queued = [pool.submit(time.sleep, 0.5) for _ in range(20)]
        raise KeyError("stop")
    assert first.done() and not first.cancelled()
    # the pool's manager thread cancels them (without waiting for the running ones to end)
    deadline = time.monotonic() + 10
    while not all(future.done() for future in queued) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sum(future.cancelled() for future in queued) >= 15


def test_results_come_back_as_from_the_executor():
    with worker_pool(2) as pool:
        assert list(pool.map(abs, [-1, -2, 3])) == [1, 2, 3]
