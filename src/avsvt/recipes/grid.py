"""Running the stage-2 grid: here (one after another, or side by side in processes) or on Slurm.

Jobs are independent and idempotent (a finished job has its ``scores.json`` and is skipped; an
interrupted one resumes from its ``last.pt``), so a grid can always be run again to finish it.
On Slurm the unfinished jobs go out as one submitit job array and this process waits for them;
no scheduler of our own.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from concurrent.futures import as_completed
from dataclasses import replace
from pathlib import Path

from avsvt.errors import AvsvtError
from avsvt.parallel import worker_pool
from avsvt.recipes.config import GridConfig
from avsvt.recipes.stage2 import Stage2Job, run_stage2_job
from avsvt.slurm import submitit_executor
from avsvt.train.distributed import under_torchrun

logger = logging.getLogger(__name__)


def run_grid(
    jobs: Sequence[Stage2Job],
    config: GridConfig,
    *,
    slurm_folder: Path,
    cluster: str | None = None,
    progress: bool = True,
) -> None:
    """Run every unfinished job; raise when any of them failed (the others still finish).

    Args:
        jobs: The grid.
        config: Backend, local workers, Slurm resources.
        slurm_folder: submitit's log folder when ``config.slurm_folder`` is unset.
        cluster: submitit cluster override (tests use ``local``).
        progress: Show a progress bar over jobs.
    """
    from tqdm import tqdm

    todo = [job for job in jobs if not job.done]
    logger.info("stage 2: %d job(s), %d to run", len(jobs), len(todo))
    if not todo:
        return
    failures: list[str] = []
    bar = tqdm(total=len(todo), desc="stage 2", unit="job", disable=not progress)
    if config.backend == "slurm":
        folder = Path(config.slurm_folder) if config.slurm_folder else slurm_folder
        executor = submitit_executor(
            folder,
            name="avsvt-stage2",
            timeout_min=config.slurm_time_min,
            cpus_per_task=config.slurm_cpus_per_task,
            mem_gb=config.slurm_mem_gb,
            array_parallelism=config.slurm_array_parallelism,
            partition=config.slurm_partition,
            gpus_per_node=config.slurm_gpus_per_node,
            cluster=cluster,
        )
        submitted = executor.map_array(run_stage2_job, todo)
        logger.info("stage 2: submitted job array %s (logs in %s)", submitted[0].job_id, folder)
        for job, handle in zip(todo, submitted, strict=True):
            try:
                handle.result()
            except Exception as exc:  # noqa: BLE001 - submitit re-raises the job's error
                failures.append(f"{job.name}: {str(exc).strip().splitlines()[-1]}")
            bar.update()
    elif config.workers == 1 or under_torchrun():  # torchrun: every job is data-parallel
        for job in todo:
            run_stage2_job(job)
            bar.update()
    else:
        threads = config.threads_per_worker or max(1, (os.cpu_count() or 1) // config.workers)
        todo = [replace(job, threads=threads) for job in todo]
        with worker_pool(max_workers=config.workers) as pool:  # spawned workers
            futures = {pool.submit(run_stage2_job, job): job for job in todo}
            for future in as_completed(futures):
                try:
                    future.result()
                except AvsvtError:
                    raise
                except Exception as exc:  # noqa: BLE001 - report every failed job by name
                    failures.append(f"{futures[future].name}: {exc}")
                bar.update()
    bar.close()
    if failures:
        raise AvsvtError(
            f"{len(failures)} stage-2 job(s) failed (rerun to retry): " + "; ".join(failures)
        )
