"""Say what a path is when it should be a regular file and is not (a folder, a FIFO, a loop...)."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from avsvt.errors import DataError

_KINDS = (
    (stat.S_ISDIR, "is a directory, not a file"),
    (stat.S_ISFIFO, "is a named pipe (FIFO), not a regular file"),
    (stat.S_ISCHR, "is a character device, not a regular file"),
    (stat.S_ISBLK, "is a block device, not a regular file"),
    (stat.S_ISSOCK, "is a socket, not a regular file"),
)


def not_a_file(path: str | Path, *, missing: str = "file not found") -> str | None:
    """Return why ``path`` cannot be read as a regular file, or None when it can be opened as one.

    Args:
        path: The path to check (symbolic links are followed).
        missing: The message for a path that does not exist.
    """
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        if os.path.islink(path):
            return f"broken symbolic link (to {os.readlink(path)!r}, which does not exist)"
        return missing
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symbolic link loop (the link points, in the end, back at itself)"
        if exc.errno == errno.ENOTDIR:
            return f"{missing} (a parent of it is a file, not a directory)"
        return f"cannot access ({exc.strerror or exc})"
    except ValueError as exc:  # an embedded NUL byte
        return f"not a usable path ({exc})"
    for is_kind, message in _KINDS:
        if is_kind(mode):
            return message
    return None


def require_file(path: str | Path, *, missing: str = "file not found") -> Path:
    """Return ``path`` when it is a regular file (or a link to one).

    Raises:
        DataError: It is missing, or something else (named: directory, FIFO, device, link loop).
    """
    path = Path(path)
    problem = not_a_file(path, missing=missing)
    if problem:
        raise DataError(problem, path=path)
    return path
