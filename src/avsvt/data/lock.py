"""One run per output folder: an advisory lock that dies with its process.

``with run_lock(folder): ...`` holds an exclusive ``flock`` on ``folder/.avsvt.lock`` (which also
records the holder's pid, host and start time). A second run on the same folder fails at once with a
clear message. A lock left by a killed run is not a problem: the operating system drops a dead
process's ``flock``, so the next run takes the lock over (and says so).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

from avsvt.errors import AvsvtError

logger = logging.getLogger(__name__)
LOCK_NAME = ".avsvt.lock"


class LockedError(AvsvtError):
    """Another process holds the folder's lock."""


@contextlib.contextmanager
def run_lock(folder: str | Path) -> Iterator[Path]:
    """Hold the folder's lock for the duration of the block.

    Raises:
        LockedError: Another live process is running on this folder.
        AvsvtError: The folder cannot be created or written.
    """
    folder = Path(folder)
    path = folder / LOCK_NAME
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise AvsvtError(
            f"cannot create the run lock ({exc.strerror or exc})", path=folder
        ) from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            raise LockedError(
                f"another avsvt run is using this folder ({holder}); wait for it or use another "
                "output folder",
                path=folder,
            ) from None
        previous = _read_holder(fd)
        if previous != "unknown holder":
            logger.warning(
                "%s: taking over the lock of a run that ended without releasing it (%s)",
                folder,
                previous,
            )
        os.ftruncate(fd, 0)
        record = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}
        os.pwrite(fd, json.dumps(record).encode(), 0)
        try:
            yield path
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _read_holder(fd: int) -> str:
    try:
        data = json.loads(os.pread(fd, 4096, 0).decode() or "null")
        return f"pid {data['pid']} on {data['host']}"
    except (ValueError, TypeError, KeyError):
        return "unknown holder"
