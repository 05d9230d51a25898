"""Process pools that an interrupt (SIGTERM, SIGINT) ends cleanly.

``with ProcessPoolExecutor(...)`` waits for every queued job on the way out, and when the
interrupt lands while the pool is still starting its manager thread, its ``shutdown`` raises
``RuntimeError("cannot join thread before it is started")`` over the interrupt, so the user sees a
traceback instead of the one-line "interrupted; rerun to resume". :func:`worker_pool` cancels the
queued jobs and lets the interrupt through unchanged; jobs already running finish and write
atomically, so a rerun skips them. When the interrupt came before the pool's manager thread ran,
the workers have been given no job and nothing would ever tell them to stop (the interpreter's
exit then waits for them forever: seen on a loaded machine); they are ended here.

Workers do not start as forks of the calling process (Python's default on Linux before 3.14):
a fork copies every lock another thread holds at that moment, and in the child it stays held for
ever; the CLI's SIGTERM handler is copied too, and a Python handler cannot run while C code waits
on such a lock, so SIGTERM does not end that worker. A fresh-clone CI run left one so, stuck after
``avsvt run`` had ended, holding the caller's stderr. They are spawned (a new interpreter each:
a second or two to start), take the caller's torch thread count and log handler, and end when
the calling process ends, however it ends (Linux: ``PR_SET_PDEATHSIG``). Not from a fork
server: its workers hold the pipe whose closing tells it that its caller has gone, so neither
would ever end.

An interrupt that lands while a worker is being started (between the new interpreter's launch and
the end of the caller writing it its start-up data) would leave the worker reading a cut pipe: it
prints ``EOFError: Ran out of input`` with a traceback on the caller's stderr (seen in a CI run).
Each worker's start therefore holds SIGINT and SIGTERM back and delivers them just after.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.context import BaseContext, SpawnContext, SpawnProcess
from types import FrameType
from typing import Any

__all__ = ["worker_pool"]


@contextlib.contextmanager
def worker_pool(
    max_workers: int, mp_context: BaseContext | None = None
) -> Iterator[ProcessPoolExecutor]:
    """A :class:`ProcessPoolExecutor` that, on any exception, cancels queued jobs and re-raises.

    ``mp_context``: how workers start; by default spawned (a new interpreter each), never forked
    from this process. As with any spawned worker, a script that calls this must keep its own
    work under ``if __name__ == "__main__":`` (each worker imports the script).
    """
    if mp_context is None:
        mp_context = _WholeStartContext()
    pool = ProcessPoolExecutor(
        max_workers=max_workers,
        mp_context=mp_context,
        initializer=_start_worker,
        initargs=(os.getpid(), _torch_threads(), _log_setup()),
    )
    try:
        yield pool
    except BaseException:
        # the standard library has no public way to end idle workers before 3.14
        workers = list((getattr(pool, "_processes", None) or {}).values())
        # an interrupt held back until a worker's start ended is raised before the pool lists it
        made = mp_context.made if isinstance(mp_context, _WholeStartContext) else []
        unlisted = [w for w in made if w.pid is not None and w not in workers]
        manager = getattr(pool, "_executor_manager_thread", None)
        # no wait: joining a manager thread that the interrupt stopped from starting raises
        pool.shutdown(wait=False, cancel_futures=True)
        # workers no job reached, or that nothing will tell to stop: end them, or exit waits
        # for ever (it joins every child process)
        ended = unlisted + ([] if _comes_up(manager) else workers)
        for worker in ended:
            worker.terminate()
        for worker in ended:
            worker.join(timeout=10)
        raise
    pool.shutdown(wait=True)


class _WholeStartProcess(SpawnProcess):
    """A spawned process whose start an interrupt does not cut in two."""

    def start(self) -> None:
        with _interrupts_held_back():
            super().start()


class _WholeStartContext(SpawnContext):
    """The spawn context for one pool: its processes are :class:`_WholeStartProcess`, and listed."""

    def __init__(self) -> None:
        super().__init__()
        self.made: list[_WholeStartProcess] = []

    def Process(  # type: ignore[override]  # noqa: N802 (the name every context gives it)
        self, *args: Any, **kwargs: Any
    ) -> _WholeStartProcess:
        """A new process (not started), as ``SpawnContext.Process`` makes, listed in ``made``."""
        process = _WholeStartProcess(*args, **kwargs)
        self.made.append(process)
        return process


_HELD_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def _interrupts_held_back() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back inside the block; deliver the first that came at its end.

    Python runs signal handlers in the main thread only, so outside it (where no handler could
    interrupt the block anyway) this does nothing. Blocking the signals at the OS level would not
    do: another thread of the process would take them, and the new process would inherit the mask.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    came: list[int] = []

    def hold(signum: int, frame: FrameType | None) -> None:
        came.append(signum)

    previous: dict[int, Any] = {}
    try:
        for signum in _HELD_SIGNALS:
            if signal.getsignal(signum) is not signal.SIG_IGN:  # ignored stays so, in workers too
                previous[signum] = signal.signal(signum, hold)
        yield
    finally:
        for held, handler in previous.items():
            signal.signal(held, handler)
    if came:
        first = came[0]
        handler = previous[first]
        if callable(handler):
            handler(first, None)  # raises as the signal would have (KeyboardInterrupt, ...)
        else:  # the default action or ignored: as if it came now
            os.kill(os.getpid(), first)


def _comes_up(thread: object, within_s: float = 1.0) -> bool:
    """Whether the pool's manager thread runs, or starts within ``within_s``.

    Its start may have been interrupted after the OS thread was asked for.
    """
    is_alive = getattr(thread, "is_alive", None)
    if is_alive is None:
        return False
    deadline = time.monotonic() + within_s
    while not is_alive():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _torch_threads() -> int | None:
    """The caller's torch thread count, if it has imported torch (workers do not import it)."""
    torch = sys.modules.get("torch")
    return None if torch is None else int(torch.get_num_threads())


def _log_setup() -> tuple[int, logging.Formatter | None]:
    """The root logger's level and its stream handler's format, for workers to log alike."""
    root = logging.getLogger()
    formatter = next(
        (h.formatter for h in root.handlers if isinstance(h, logging.StreamHandler)), None
    )
    return root.level, formatter


def _start_worker(
    caller_pid: int, torch_threads: int | None, log_setup: tuple[int, logging.Formatter | None]
) -> None:
    """Set a worker up as its caller: die with it, same torch threads, same log lines."""
    libc_name = ctypes.util.find_library("c")
    if sys.platform.startswith("linux") and libc_name:
        # sent when the thread that started this process ends: the caller's main thread
        ctypes.CDLL(libc_name, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    try:
        os.kill(caller_pid, 0)  # it may have ended before the line above
    except ProcessLookupError:
        os._exit(1)
    except PermissionError:  # the number was taken by another user's process
        os._exit(1)
    if torch_threads is not None:
        import torch

        torch.set_num_threads(torch_threads)
    level, formatter = log_setup
    root = logging.getLogger()
    if formatter is not None and not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(formatter)
        root.addHandler(handler)
    root.setLevel(level)
