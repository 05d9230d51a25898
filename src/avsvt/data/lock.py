"""One run per output folder: an advisory lock that dies with its process.

``with run_lock(folder): ...`` holds an exclusive ``flock`` on ``folder/.avsvt.lock`` (which also
records the holder's pid, host and start time). A second run on the same folder fails at once with a
clear message. A lock left by a killed run is not a problem: the operating system drops a dead
process's ``flock``, so the next run takes the lock over (and says so).

The lock never writes through anything but a plain file of its own: the path is opened without
following symbolic links, and a link, a directory, a FIFO or device, a file with other hard links
or a file holding something other than a lock record is refused (the user's data stays as it was).
What passes these checks holds nothing but a lock record (or nothing at all), so the lock file is
removed when the lock is released.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import socket
import stat
import time
from collections.abc import Iterator
from pathlib import Path

from avsvt.errors import AvsvtError

logger = logging.getLogger(__name__)
LOCK_NAME = ".avsvt.lock"
_FLAGS = os.O_RDWR | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_ATTEMPTS = 20  # a lock file replaced under us (released and removed by another run): reopen


class LockedError(AvsvtError):
    """Another process holds the folder's lock."""


def _refuse(path: Path, what: str) -> AvsvtError:
    return AvsvtError(
        f"{what}, not an avsvt lock file; avsvt leaves it alone: move it away and rerun",
        path=path,
    )


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "is a symbolic link"
    if stat.S_ISDIR(mode):
        return "is a directory"
    if stat.S_ISFIFO(mode):
        return "is a FIFO"
    if stat.S_ISSOCK(mode):
        return "is a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device"
    return "is not a regular file"


def _open(path: Path) -> int:
    """Open (or create) the lock file without following links."""
    try:
        return os.open(path, _FLAGS | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        pass
    try:
        info = os.lstat(path)
    except FileNotFoundError:  # removed in between by a run releasing it: create it again
        return os.open(path, _FLAGS | os.O_CREAT | os.O_EXCL, 0o644)
    if not stat.S_ISREG(info.st_mode):  # never open a FIFO or device, never follow a link
        raise _refuse(path, _kind(info.st_mode))
    try:
        return os.open(path, _FLAGS)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # became a link after the check
            raise _refuse(path, "is a symbolic link") from None
        raise


def _check_own(fd: int, path: Path, *, content: bool) -> None:
    """Refuse what is not a lock file of ours (checked on the open file: no race).

    ``content``: also check that it holds a lock record or nothing. Only once the ``flock`` is
    ours: before that, a holder may be truncating its record on release while we read it.
    """
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        raise _refuse(path, _kind(info.st_mode))
    if info.st_nlink > 1:
        raise _refuse(path, f"has {info.st_nlink} hard links (another file shares its data)")
    if content and info.st_size and _holder(fd) is None:
        raise _refuse(path, "holds data")


@contextlib.contextmanager
def run_lock(folder: str | Path) -> Iterator[Path]:
    """Hold the folder's lock for the duration of the block.

    Raises:
        LockedError: Another live process is running on this folder.
        AvsvtError: The folder cannot be created or written, or its lock path is not a plain
            lock file (a symbolic link, a directory, a FIFO, a hard link, someone's data).
    """
    folder = Path(folder)
    path = folder / LOCK_NAME
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AvsvtError(
            f"cannot create the run lock ({exc.strerror or exc})", path=folder
        ) from exc
    for _ in range(_ATTEMPTS):
        try:
            fd = _open(path)
        except (FileExistsError, FileNotFoundError):  # created or removed by another run
            continue  # between our checks: look again
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise _refuse(path, "is a symbolic link") from None
            if exc.errno == errno.EISDIR:
                raise _refuse(path, "is a directory") from None
            raise AvsvtError(
                f"cannot create the run lock ({exc.strerror or exc})", path=path
            ) from exc
        try:
            _check_own(fd, path, content=False)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _holder(fd) or "unknown holder"
                raise LockedError(
                    f"another avsvt run is using this folder ({holder}); wait for it or use "
                    "another output folder",
                    path=folder,
                ) from None
            if not _same_file(fd, path):  # released and removed by its holder meanwhile
                continue
            _check_own(fd, path, content=True)  # now that nobody else can be writing it
            previous = _holder(fd)
            if previous is not None:
                logger.warning(
                    "%s: taking over the lock of a run that ended without releasing it (%s)",
                    folder,
                    previous,
                )
            with _locked(fd, path):
                yield path
            return
        finally:
            os.close(fd)
    raise AvsvtError("cannot take the run lock: its file keeps being replaced", path=path)


@contextlib.contextmanager
def _locked(fd: int, path: Path) -> Iterator[None]:
    os.ftruncate(fd, 0)
    record = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}
    try:
        os.pwrite(fd, json.dumps(record).encode(), 0)
    except OSError as exc:  # e.g. a full disk: the lock holds without the holder's name
        logger.debug("%s: cannot record the lock's holder (%s)", path, exc.strerror or exc)
        os.ftruncate(fd, 0)
    try:
        yield
    finally:
        os.ftruncate(fd, 0)
        if _same_file(fd, path):  # a lock file and nothing else (checked): remove it
            with contextlib.suppress(OSError):
                os.unlink(path)  # still holding the lock: whoever opens it next retries
        fcntl.flock(fd, fcntl.LOCK_UN)


def _same_file(fd: int, path: Path) -> bool:
    try:
        on_disk = os.lstat(path)
    except OSError:
        return False
    mine = os.fstat(fd)
    return (on_disk.st_dev, on_disk.st_ino) == (mine.st_dev, mine.st_ino)


def _holder(fd: int) -> str | None:
    """``"pid N on HOST"`` from a lock record, or None when the file holds no lock record."""
    try:
        data = json.loads(os.pread(fd, 4096, 0).decode())
        return f"pid {int(data['pid'])} on {data['host']}"
    except (ValueError, TypeError, KeyError, UnicodeDecodeError, RecursionError, OSError):
        return None
