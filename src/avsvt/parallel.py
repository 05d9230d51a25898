"""Process pools that an interrupt (SIGTERM, SIGINT) ends cleanly.

``with ProcessPoolExecutor(...)`` waits for every queued job on the way out, and when the
interrupt lands while the pool is still starting its manager thread, its ``shutdown`` raises
``RuntimeError("cannot join thread before it is started")`` over the interrupt, so the user sees a
traceback instead of the one-line "interrupted; rerun to resume". :func:`worker_pool` cancels the
queued jobs and lets the interrupt through unchanged; jobs already running finish and write
atomically, so a rerun skips them. When the interrupt came before the pool's manager thread ran,
the workers have been given no job and nothing would ever tell them to stop (the interpreter's
exit then waits for them forever: seen on a loaded machine); they are ended here.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.context import BaseContext

__all__ = ["worker_pool"]


@contextlib.contextmanager
def worker_pool(
    max_workers: int, mp_context: BaseContext | None = None
) -> Iterator[ProcessPoolExecutor]:
    """A :class:`ProcessPoolExecutor` that, on any exception, cancels queued jobs and re-raises."""
    pool = ProcessPoolExecutor(max_workers=max_workers, mp_context=mp_context)
    try:
        yield pool
    except BaseException:
        # the standard library has no public way to end idle workers before 3.14
        workers = list((getattr(pool, "_processes", None) or {}).values())
        manager = getattr(pool, "_executor_manager_thread", None)
        # no wait: joining a manager thread that the interrupt stopped from starting raises
        pool.shutdown(wait=False, cancel_futures=True)
        if not _comes_up(manager):  # no job reached the workers: end them, or exit waits forever
            for worker in workers:
                worker.terminate()
            for worker in workers:
                worker.join(timeout=10)
        raise
    pool.shutdown(wait=True)


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
