"""An interrupt that lands while a worker pool starts reaches the caller unchanged.

A fresh-clone CI run sent SIGTERM to ``avsvt run`` while the corpus step's pool was starting its
manager thread: ``with ProcessPoolExecutor`` then raised ``RuntimeError("cannot join thread before
it is started")`` over the interrupt and the user saw a traceback instead of "interrupted; rerun".
Here the interrupt is raised at that very point: ``Thread.start`` is interrupted before the thread
is up, and the thread comes up a moment later (as the OS thread does).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import process
from pathlib import Path

import pytest

from avsvt.parallel import worker_pool
from faults import alive


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


# A lock that another thread of the caller holds at the moment the workers start: a forked
# worker gets it held, for ever (CI saw a forked corpus worker so, stuck after `avsvt run` ended).
_HELD = threading.Lock()


def _takes_the_lock() -> bool:
    acquired = _HELD.acquire(timeout=3)
    if acquired:
        _HELD.release()
    return acquired


def _with_the_lock_held(pool_of: object) -> bool:
    release = threading.Event()
    holder = threading.Thread(target=lambda: (_HELD.acquire(), release.wait(), _HELD.release()))
    holder.start()
    try:
        with pool_of() as pool:  # type: ignore[operator]
            return bool(pool.submit(_takes_the_lock).result(timeout=60))
    finally:
        release.set()
        holder.join()


def test_workers_do_not_inherit_locks_that_other_threads_hold():
    assert _with_the_lock_held(lambda: worker_pool(1))


def test_forked_workers_inherit_them_held():
    # the oracle: the start method Python 3.11 uses by default on Linux
    fork = multiprocessing.get_context("fork")
    assert not _with_the_lock_held(lambda: worker_pool(1, mp_context=fork))


CALLER = textwrap.dedent("""
    import os, signal, sys, time
    from concurrent.futures import ProcessPoolExecutor
    from avsvt.parallel import worker_pool

    with worker_pool(2) if sys.argv[1] == "avsvt" else ProcessPoolExecutor(2) as pool:
        jobs = [pool.submit(time.sleep, 0.5) for _ in range(2)]  # both workers busy: both start
        for job in jobs:
            job.result()
        pids = {p.pid for p in pool._processes.values()}
        print(" ".join(map(str, sorted(pids))), flush=True)
        os.kill(os.getpid(), signal.SIGKILL)  # no cleanup of any kind runs
""")


def _workers_left_by_a_killed_caller(kind: str, tmp_path: Path) -> set[int]:
    # files, not pipes: workers left running would hold a pipe open and the wait for its end
    with open(tmp_path / "out", "w") as out, open(tmp_path / "err", "w") as err:
        code = subprocess.run(
            [sys.executable, "-c", CALLER, kind], stdout=out, stderr=err, timeout=120
        ).returncode
    assert code == -signal.SIGKILL, (tmp_path / "err").read_text()
    pids = {int(p) for p in (tmp_path / "out").read_text().split()}
    assert len(pids) == 2, pids
    deadline = time.monotonic() + 10
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return {p for p in pids if alive(p)}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_workers_end_when_their_caller_is_killed(tmp_path):
    assert _workers_left_by_a_killed_caller("avsvt", tmp_path) == set()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc is Linux's")
def test_the_plain_executor_leaves_them_running(tmp_path):
    # the oracle: the standard library's workers wait for a job that will never come
    left = _workers_left_by_a_killed_caller("plain", tmp_path)
    try:
        assert len(left) == 2
    finally:
        for pid in left:
            os.kill(pid, signal.SIGKILL)


# An interrupt between a worker's launch and the end of its start-up data: the new interpreter
# reads a cut pipe. CI saw it so ("EOFError: Ran out of input" with a traceback, from a worker,
# on the stderr of an `avsvt run` ended by SIGTERM). Here the interrupt comes at that very point.
LAUNCH = textwrap.dedent("""
    import os, signal, sys
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context, util
    from avsvt.parallel import worker_pool

    # a test run started in the background inherits SIGINT ignored: Python's own handler here
    signal.signal(signal.SIGINT, signal.default_int_handler)
    launch = util.spawnv_passfds

    def handlers_run_here():
        pass  # Python runs the handler of a pending signal as a Python function starts

    def launch_then_interrupt(path, args, fds):
        pid = launch(path, args, fds)
        if "spawn_main" in repr(args):  # a worker (not the resource tracker) runs now,
            os.kill(os.getpid(), signal.SIGINT)  # and its start-up data is not written yet
            handlers_run_here()
        return pid

    util.spawnv_passfds = launch_then_interrupt
    spawn = get_context("spawn")
    try:
        with worker_pool(1) if sys.argv[1] == "avsvt" else ProcessPoolExecutor(1, spawn) as pool:
            pool.submit(abs, -1).result()
    except KeyboardInterrupt:
        print("interrupted", flush=True)
""")


def _interrupted_launch(
    kind: str, tmp_path: Path, until: str = "", within_s: float = 1.0
) -> tuple[str, str]:
    """The caller's stdout and the stderr it shares with its workers, once ``until`` shows on it
    (a worker that outlived its caller writes after it) or ``within_s`` have passed."""
    # files, not pipes: a worker left running would hold a pipe open
    with open(tmp_path / "out", "w") as out, open(tmp_path / "err", "w") as err:
        subprocess.run([sys.executable, "-c", LAUNCH, kind], stdout=out, stderr=err, timeout=120)
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline and not (until and until in (tmp_path / "err").read_text()):
        time.sleep(0.05)
    return (tmp_path / "out").read_text(), (tmp_path / "err").read_text()


def test_an_interrupt_while_a_worker_launches_waits_for_its_start(tmp_path):
    out, err = _interrupted_launch("avsvt", tmp_path, until="Traceback", within_s=3.0)
    assert out == "interrupted\n", err
    assert "Traceback" not in err and "EOFError" not in err


def test_the_plain_executor_cuts_that_worker_short(tmp_path):
    # the oracle: the worker of a plain spawned pool reads a cut pipe and prints a traceback
    out, err = _interrupted_launch("plain", tmp_path, until="EOFError", within_s=30.0)
    assert out == "interrupted\n", err
    assert "EOFError" in err
