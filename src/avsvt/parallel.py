"""Process pools that an interrupt (SIGTERM, SIGINT) ends cleanly.

``with ProcessPoolExecutor(...)`` waits for every queued job on the way out, and when the
interrupt lands while the pool is still starting its manager thread, its ``shutdown`` raises
``RuntimeError("cannot join thread before it is started")`` over the interrupt, so the user sees a
traceback instead of the one-line "interrupted; rerun to resume". :func:`worker_pool` cancels the
queued jobs and lets the interrupt through unchanged; jobs already running finish and write
atomically, so a rerun skips them.
"""

from __future__ import annotations

import contextlib
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
        # no wait: joining a manager thread that the interrupt stopped from starting raises
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
