"""torchrun integration: start and stop the process group from torchrun's environment.

``with distributed():`` is a no-op in a plain process; under ``torchrun`` it initialises the default
process group (gloo on CPU, nccl on GPU), pins each process to its GPU, and on exit waits at a
barrier before destroying the group (without it gloo occasionally aborts at exit).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import torch
import torch.distributed as dist


def under_torchrun() -> bool:
    """True when torchrun (or another launcher setting WORLD_SIZE/RANK) started this process."""
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


@contextlib.contextmanager
def distributed() -> Iterator[torch.device]:
    """Yield this process's device, with the process group up for the block when under torchrun."""
    if not under_torchrun() or (dist.is_available() and dist.is_initialized()):
        yield torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return
    use_cuda = torch.cuda.is_available()
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if use_cuda:
        torch.cuda.set_device(local_rank)
    dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    try:
        yield torch.device(f"cuda:{local_rank}" if use_cuda else "cpu")
    finally:
        dist.barrier()
        dist.destroy_process_group()


def is_main_process() -> bool:
    """True on rank 0 (or without distribution)."""
    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


def barrier() -> None:
    """Wait for every process (a no-op without distribution)."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
