"""Slurm job arrays through submitit (an optional dependency: ``pip install 'avsvt[slurm]'``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from avsvt.errors import ConfigError


def submitit_executor(
    folder: str | Path,
    *,
    name: str,
    timeout_min: int,
    cpus_per_task: int,
    mem_gb: float,
    array_parallelism: int,
    partition: str | None = None,
    gpus_per_node: int = 0,
    cluster: str | None = None,
) -> Any:
    """A submitit AutoExecutor configured for one job array.

    Args:
        folder: submitit's log folder.
        name: Job name.
        timeout_min: Time limit per job in minutes.
        cpus_per_task: CPUs per job.
        mem_gb: Memory per job.
        array_parallelism: Jobs of the array running at once.
        partition: Slurm partition (None: the cluster's default).
        gpus_per_node: GPUs per job (asked of Slurm only: local/debug executors have no count).
        cluster: None picks Slurm when present; ``local`` / ``debug`` run here (tests).

    Raises:
        ConfigError: submitit is not installed.
    """
    try:
        import submitit
    except ImportError:
        raise ConfigError(
            "Slurm needs the optional package submitit (pip install 'avsvt[slurm]')"
        ) from None
    executor = submitit.AutoExecutor(folder=str(folder), cluster=cluster)
    params: dict[str, Any] = {
        "name": name,
        "timeout_min": timeout_min,
        "cpus_per_task": cpus_per_task,
        "mem_gb": mem_gb,
        "slurm_array_parallelism": array_parallelism,
    }
    if partition:
        params["slurm_partition"] = partition  # submitit ignores slurm_* on other clusters
    if gpus_per_node and getattr(executor, "cluster", "slurm") == "slurm":
        params["gpus_per_node"] = gpus_per_node
    executor.update_parameters(**params)
    return executor
