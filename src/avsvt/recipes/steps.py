"""Resumable steps: each step runs once, leaves a done-marker, and is skipped on rerun.

A step's output folder is made "fresh" for its settings (:func:`fresh_dir`): work left there by
other settings is cleared first, so a resumed checkpoint always belongs to the same settings.

Under ``torchrun`` every process walks the same steps: a ``parallel`` step (training) runs on all
of them, any other step on rank 0 while the others wait at a barrier; only rank 0 writes markers.

A step's marker (``steps/<name>.done``, JSON) is written atomically after the step's outputs, so a
step killed midway has no marker and runs again (its own outputs are atomic, and finished parts are
skipped inside the step). The marker records a fingerprint of the settings the step depends on: if
they change, the step runs again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from avsvt.data.atomic import write_json_atomic

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Step:
    """One named unit of the pipeline."""

    name: str
    run: Callable[[], None]
    settings: Any = None  # what the step depends on (JSON-serialisable); changes force a rerun
    parallel: bool = False  # under torchrun: runs on every process (else on rank 0 only)


def fingerprint(settings: Any) -> str:
    """A short stable hash of JSON-serialisable settings."""
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


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
        if not force and marker.exists():
            try:
                done = json.loads(marker.read_text())
            except ValueError:
                done = {}
            if done.get("fingerprint") == key:
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
            write_json_atomic(marker, {"fingerprint": key, "seconds": round(seconds, 2)})
        if shared:
            dist.barrier()
        timings[step.name] = seconds
        logger.info("[%d/%d] %s finished in %.1f s", index, len(steps), step.name, seconds)
    return timings


SETTINGS = "settings.json"


def shared_fresh_dir(path: Path, settings: Any) -> Path:
    """:func:`fresh_dir` from a step every torchrun process runs: rank 0 does it, all wait."""
    from avsvt.train.distributed import barrier, is_main_process

    if is_main_process():
        fresh_dir(path, settings)
    barrier()
    return path


def fresh_dir(path: Path, settings: Any) -> Path:
    """Make ``path`` hold work for ``settings``: cleared first when it holds work for others."""
    marker = path / SETTINGS
    key = fingerprint(settings)
    if marker.exists():
        try:
            found = json.loads(marker.read_text()).get("fingerprint")
        except (ValueError, AttributeError):
            found = None
        if found == key:
            return path
        logger.info("settings changed: %s cleared", path)
        shutil.rmtree(path)
    elif path.exists() and any(path.iterdir()):
        logger.info("no settings record: %s cleared", path)
        shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)
    write_json_atomic(marker, {"fingerprint": key, "settings": settings})
    return path
