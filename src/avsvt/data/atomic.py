"""Atomic file writes: write to a temporary file beside the target, then rename.

A reader never sees a partial file under a final name; a crash (SIGKILL, power loss) leaves at
most a hidden ``.<name>.tmp-XXXXXXXX<suffix>`` file, which the next successful write of the same
target removes (the name is this module's own pattern; writers of one folder hold its lock).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from avsvt.errors import AvsvtError

_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path; on success it is renamed to ``target``, on error removed.

    Raises:
        AvsvtError: The directory cannot be written (read-only, disk full, ...), naming the file.
    """
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{target.name}.tmp-", suffix=target.suffix, dir=target.parent
        )
        os.close(fd)
        os.chmod(tmp_name, 0o666 & ~_UMASK)  # mkstemp makes 0600; finals get normal permissions
    except OSError as exc:
        raise AvsvtError(f"cannot write here: {exc.strerror or exc}", path=target) from exc
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, target)
        _remove_leftovers(target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise AvsvtError(f"cannot write: {exc.strerror or exc}", path=target) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _remove_leftovers(target: Path) -> None:
    """Remove temporary files of ``target`` that a crashed earlier write left (our pattern only)."""
    pattern = re.compile(
        rf"\.{re.escape(target.name)}\.tmp-[a-z0-9_]{{8}}{re.escape(target.suffix)}"
    )
    with contextlib.suppress(OSError):
        for entry in os.scandir(target.parent):
            if pattern.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


def write_bytes_atomic(target: str | Path, data: bytes) -> None:
    """Write bytes to ``target`` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(target: str | Path, text: str) -> None:
    """Write UTF-8 text to ``target`` atomically."""
    write_bytes_atomic(target, text.encode("utf-8"))


def write_json_atomic(target: str | Path, obj: Any, *, indent: int | None = 2) -> None:
    """Write ``obj`` as JSON to ``target`` atomically."""
    write_text_atomic(target, json.dumps(obj, indent=indent) + "\n")
