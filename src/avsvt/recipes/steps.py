"""Resumable steps: each step runs once, leaves a done-marker, and is skipped on rerun.

A step's output folder is made "fresh" for its settings (:func:`fresh_dir`): work left there by
other settings is cleared first, so a resumed checkpoint always belongs to the same settings.

Under ``torchrun`` every process walks the same steps: a ``parallel`` step (training) runs on all
of them, any other step on rank 0 while the others wait at a barrier; only rank 0 writes markers.

A step's marker (``steps/<name>.done``, JSON) is written atomically after the step's outputs, so a
step killed midway has no marker and runs again (its own outputs are atomic, and finished parts are
skipped inside the step). The marker records a fingerprint of the settings the step depends on: if
they change, the step runs again.

avsvt removes only what it can prove it wrote:

* a run folder is avsvt's when it holds avsvt's run record (``.avsvt-run.json``, written when a
  run starts in a new or empty folder, :func:`claim_run_folder`); any other non-empty folder is
  refused, untouched;
* a stage folder is avsvt's when it holds avsvt's settings record (``settings.json``, written by
  :func:`fresh_dir` into the folder it made); when the step finishes the record also lists every
  file the step left (size and modification time, :func:`seal_dir`). A stage folder without the
  record, or holding files that are not in the list (or that changed since), is refused before
  anything is cleared, naming them; what the list vouches for is all that is removed when the
  settings change. A step killed before it finished has no list yet: everything in its folder is
  that step's own unfinished work (the folder was made empty for it), and all of it is cleared.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import stat
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from avsvt.config import to_dict
from avsvt.data.atomic import write_json_atomic
from avsvt.data.lock import LOCK_NAME
from avsvt.errors import OutputExistsError

logger = logging.getLogger(__name__)

SETTINGS = "settings.json"
"""A stage folder's settings record (its fingerprint, and the files its step left)."""
RUN_RECORD = ".avsvt-run.json"
"""A run folder's record: avsvt made (or adopted) this folder for ``avsvt run``."""
_RECORD_KIND = "avsvt run folder"
_TEMP_MARK = ".tmp-"  # avsvt's atomic writers' temporaries: .<name>.tmp-*
_MAX_RECORD_BYTES = 64 << 20
_SHOWN = 3  # foreign entries named in a message


@dataclass(frozen=True)
class Step:
    """One named unit of the pipeline."""

    name: str
    run: Callable[[], None]
    settings: Any = None  # what the step depends on (JSON-serialisable); changes force a rerun
    parallel: bool = False  # under torchrun: runs on every process (else on rank 0 only)
    folders: tuple[Path, ...] = ()  # stage folders it makes with fresh_dir (sealed when done)


def fingerprint(settings: Any) -> str:
    """A short stable hash of JSON-serialisable settings."""
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def without_defaults(
    settings: dict[str, Any], kind: type[Any], names: frozenset[str]
) -> dict[str, Any]:
    """``settings`` (``to_dict`` of a ``kind`` dataclass) less the ``names`` at their default.

    For options added after runs existed: left out of a fingerprint while off, a run made
    before them stays finished and is not recomputed.
    """
    defaults = to_dict(kind())
    return {k: v for k, v in settings.items() if k not in names or v != defaults[k]}


def _is_done(step: Step, marker_dir: Path) -> bool:
    marker = marker_dir / f"{step.name}.done"
    if not marker.is_file():
        return False
    try:
        done = json.loads(marker.read_text())
    except (ValueError, OSError):
        return False
    return isinstance(done, dict) and done.get("fingerprint") == fingerprint(step.settings)


def pending_steps(steps: list[Step], marker_dir: Path, *, force: bool = False) -> list[Step]:
    """The steps :func:`run_steps` would run (all of them with ``force``)."""
    return [step for step in steps if force or not _is_done(step, marker_dir)]


def run_steps(steps: list[Step], marker_dir: Path, *, force: bool = False) -> dict[str, float]:
    """Run the steps in order, skipping those already done with the same settings.

    Returns:
        Seconds spent per step that ran (skipped steps are absent).
    """
    import torch.distributed as dist

    shared = dist.is_available() and dist.is_initialized()
    main = not shared or dist.get_rank() == 0
    timings = {}
    for index, step in enumerate(steps, start=1):
        marker = marker_dir / f"{step.name}.done"
        key = fingerprint(step.settings)
        if not force and _is_done(step, marker_dir):
            logger.info("[%d/%d] %s: done already, skipped", index, len(steps), step.name)
            continue
        logger.info("[%d/%d] %s ...", index, len(steps), step.name)
        start = time.perf_counter()
        if step.parallel or main:
            step.run()
        if shared:
            dist.barrier()
        seconds = time.perf_counter() - start
        if main:
            for folder in step.folders:
                seal_dir(folder)
            write_json_atomic(marker, {"fingerprint": key, "seconds": round(seconds, 2)})
        if shared:
            dist.barrier()
        timings[step.name] = seconds
        logger.info("[%d/%d] %s finished in %.1f s", index, len(steps), step.name, seconds)
    return timings


# --- what avsvt wrote ----------------------------------------------------------------------------


def read_json_file(path: Path) -> Any:
    """The JSON of a plain file (never through a link), or None."""
    try:
        info = os.lstat(path)
        if not stat.S_ISREG(info.st_mode) or info.st_size > _MAX_RECORD_BYTES:
            return None
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None


def read_record(folder: Path) -> dict[str, Any] | None:
    """A stage folder's settings record, or None when it has none that avsvt wrote."""
    record = read_json_file(folder / SETTINGS)
    if (
        isinstance(record, dict)
        and isinstance(record.get("fingerprint"), str)
        and "settings" in record
        and isinstance(record.get("files", {}), dict)
    ):
        return record
    return None


def _is_temporary(name: str) -> bool:
    return name.startswith(".") and _TEMP_MARK in name


def _listing(folder: Path) -> dict[str, list[int]]:
    """Every entry under ``folder`` but folders and its record: relative path -> [size, mtime_ns].

    Links are listed, never followed.
    """
    found: dict[str, list[int]] = {}
    todo = [(folder, "")]
    while todo:
        directory, rel = todo.pop()
        with os.scandir(directory) as entries:
            for entry in entries:
                name = f"{rel}{entry.name}"
                if not rel and entry.name == SETTINGS:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    todo.append((Path(entry.path), f"{name}/"))
                    continue
                info = entry.stat(follow_symlinks=False)
                found[name] = [info.st_size, info.st_mtime_ns]
    return found


def _not_a_folder(path: Path) -> Path | None:
    """``path`` or the nearest existing folder above it, when that is not a folder."""
    for candidate in (path, *path.parents):
        if os.path.lexists(candidate):
            return None if candidate.is_dir() else candidate
    return None


def foreign_entries(folder: Path) -> list[str]:
    """What in stage folder ``folder`` avsvt cannot prove it wrote (relative paths).

    Nothing for a missing or empty folder, or for one whose record lists no files (a step that has
    not finished: its folder was made empty for it). With a list, every other file, and every file
    that changed since (size or modification time), is foreign. Without a record, everything is.
    """
    if not folder.is_dir():
        return []
    record = read_record(folder)
    entries = _listing(folder)
    if record is None:
        return sorted([*entries, *([SETTINGS] if os.path.lexists(folder / SETTINGS) else [])])
    listed = record.get("files")
    if listed is None:
        return []
    return sorted(
        name
        for name, stamp in entries.items()
        if listed.get(name) != stamp and not _is_temporary(Path(name).name)
    )


def _shown(names: list[str]) -> str:
    more = f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else ""
    return ", ".join(names[:_SHOWN]) + more


def check_stage_dir(folder: Path) -> None:
    """Refuse a stage folder holding what avsvt did not write (before anything is cleared).

    Raises:
        OutputExistsError: ``folder`` (or a folder above it) is a file, or it holds files without
            avsvt's settings record, or files its record does not vouch for.
    """
    blocked = _not_a_folder(folder)
    if blocked is not None:
        raise OutputExistsError(
            "is not a folder, where avsvt puts a stage folder; avsvt leaves it alone: move it "
            "away and rerun",
            path=blocked,
        )
    foreign = foreign_entries(folder)
    if not foreign:
        return
    if read_record(folder) is None:
        what = f"holds {_shown(foreign)} but no avsvt settings record ({SETTINGS}): avsvt did not"
        what += " make this folder"
    else:
        what = (
            f"holds {len(foreign)} file(s) avsvt did not write or that changed since it wrote "
            f"them ({_shown(foreign)})"
        )
    raise OutputExistsError(
        f"{what}; avsvt leaves them alone: move them out of the run folder and rerun", path=folder
    )


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _clear(folder: Path, record: dict[str, Any]) -> None:
    """Remove what the record vouches for (all of an unfinished step's folder) but the record."""
    listed = record.get("files")
    if listed is None:
        for entry in folder.iterdir():
            if entry.name != SETTINGS:
                _remove(entry)
        return
    for name in _listing(folder):  # checked by check_stage_dir: listed, or a temporary
        (folder / name).unlink(missing_ok=True)
    for directory, _, _ in sorted(os.walk(folder), key=lambda item: -len(item[0])):
        if Path(directory) != folder:
            Path(directory).rmdir()  # empty now: every file in it was listed


def fresh_dir(path: Path, settings: Any) -> Path:
    """Make ``path`` hold work for ``settings``, first cleared of avsvt's work for others.

    Raises:
        OutputExistsError: ``path`` holds what avsvt did not write (see :func:`check_stage_dir`);
            nothing is removed.
    """
    check_stage_dir(path)
    key = fingerprint(settings)
    new = {"fingerprint": key, "settings": settings}
    record = read_record(path)
    if record is not None and record["fingerprint"] == key:
        if "files" in record:  # the step writes here again: the old list no longer says it all
            write_json_atomic(path / SETTINGS, new)
        return path
    if record is not None:
        _clear(path, record)
        logger.info("settings changed: %s cleared", path)
    path.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path / SETTINGS, new)
    return path


def seal_dir(folder: Path) -> None:
    """Record in a finished stage folder's settings record every file its step left there."""
    record = read_record(folder)
    if record is None:
        return
    write_json_atomic(folder / SETTINGS, {**record, "files": _listing(folder)})


def shared_fresh_dir(path: Path, settings: Any) -> Path:
    """:func:`fresh_dir` from a step every torchrun process runs: rank 0 does it, all wait."""
    from avsvt.train.distributed import barrier, is_main_process

    if is_main_process():
        fresh_dir(path, settings)
    barrier()
    return path


# --- run folders ----------------------------------------------------------------------------------


def is_run_folder(folder: Path) -> bool:
    """True when ``folder`` holds avsvt's run record."""
    record = read_json_file(folder / RUN_RECORD)
    return isinstance(record, dict) and record.get("avsvt") == _RECORD_KIND


def check_run_folder(folder: Path, *, adopt: Callable[[Path], bool] | None = None) -> None:
    """Refuse ``folder`` as a run folder unless it is missing, empty or avsvt's (writes nothing).

    Args:
        folder: The run folder.
        adopt: Recognises a run folder of an older avsvt (which wrote no run record).

    Raises:
        OutputExistsError: It is a file, or a non-empty folder that is not an avsvt run.
    """
    blocked = _not_a_folder(folder)
    if blocked is not None:
        raise OutputExistsError(
            "is not a folder; avsvt leaves it alone: give out_dir a new or empty folder",
            path=blocked,
        )
    if not folder.is_dir() or is_run_folder(folder):
        return
    entries = sorted(e for e in os.listdir(folder) if e != LOCK_NAME)
    if not entries or (adopt is not None and adopt(folder)):
        return
    raise OutputExistsError(
        f"not an avsvt run folder: it holds {_shown(entries)}, which avsvt did not write; "
        "avsvt leaves it alone: give out_dir a new or empty folder",
        path=folder,
    )


def claim_run_folder(folder: Path, *, adopt: Callable[[Path], bool] | None = None) -> None:
    """:func:`check_run_folder`, then write the run record (under the run's lock)."""
    check_run_folder(folder, adopt=adopt)
    if not is_run_folder(folder):
        write_json_atomic(
            folder / RUN_RECORD,
            {"avsvt": _RECORD_KIND, "note": "made by avsvt run: it removes only what it wrote"},
        )


def stage_folders(steps: Iterable[Step]) -> list[Path]:
    """The stage folders of ``steps``, in order."""
    return [folder for step in steps for folder in step.folders]
