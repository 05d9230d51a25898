"""The one training loop, for stage 1 (encoder + head) and stage 2 (fusion + head).

What it does, epoch by epoch (reference-system.md sections 2.3-2.5, 6.6):

* batches in a seeded random order (or the reference's ascending-duration order, quirk Q8) of
  ``batch_size`` utterances per process and micro-batch, ``grad_accum`` micro-batches per step;
* linear probing for the first ``linear_probe_epochs`` (encoder gradients off, as the reference
  does: the encoder stays in train mode, quirk Q7 reproduced);
* two optimisers stepped together: Adadelta for the head (and fusion), Adam for the encoder;
  gradient-norm clipping at 5; a batch whose loss is not finite is skipped (at most
  ``max_nonfinite`` per epoch, then the run stops with an error); under torchrun the processes
  agree on it first, so all skip the step together;
* after each epoch: validation loss and whole-song scores (utterances stitched per song, decoded
  and scored, see :mod:`avsvt.train.evaluate`), NewBob annealing on the validation loss, the best
  model kept by validation COnPOff F1 (or another ``select_metric``); with ``ema_decay`` an
  exponential moving average of the weights is what is validated, selected and kept
  (``torch.optim.swa_utils.AveragedModel``, updated after every step and saved in ``last.pt``);
* logs: ``log.csv`` (one row per epoch) and, when the tensorboard package is installed, the same
  scalars as TensorBoard event files in ``tensorboard/``;
* crash safety: ``last.pt`` (weights, optimisers, schedulers, RNG states, position in the epoch,
  and the model config when the trainable has one, so it loads as a model too, see
  :mod:`avsvt.models.checkpoint`) written atomically every ``checkpoint_every_steps`` steps and at
  every epoch end; a rerun resumes from it and, on CPU, reaches the same weights and metrics as an
  uninterrupted run;
* scale-out: under ``torchrun`` the model is wrapped in DistributedDataParallel and each process
  takes every ``world_size``-th batch of the same order, so ``batch_size`` is per process (the
  global batch is ``batch_size x world_size x grad_accum``); one process without torchrun and
  torchrun with one process give the same result. Mixed precision (bf16 autocast) on GPU only.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from avsvt.data.atomic import atomic_path
from avsvt.errors import AvsvtError
from avsvt.evaluation import Evaluation
from avsvt.metrics import METRICS
from avsvt.models.apply import collate
from avsvt.models.checkpoint import load_training_state, save_training_state
from avsvt.train.datasets import _SongUtterances, batches, epoch_order
from avsvt.train.evaluate import evaluate_dataset
from avsvt.train.schedule import NewBob
from avsvt.train.settings import OptimConfig, TrainConfig
from avsvt.train.trainable import Trainable

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FitResult:
    """What a finished fit left behind."""

    best_metric: float
    best_epoch: int
    last_checkpoint: Path
    history: list[dict[str, float]]


def _world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _rng_state() -> dict[str, torch.Tensor]:
    return {"torch": torch.get_rng_state()}


def _set_rng_state(state: dict[str, torch.Tensor]) -> None:
    torch.set_rng_state(state["torch"])


class _Optimisers:
    """Head Adadelta + encoder Adam, stepped together, each with its NewBob scheduler."""

    def __init__(self, trainable: Trainable, config: OptimConfig) -> None:
        self.head = torch.optim.Adadelta(
            list(trainable.head_parameters), lr=config.head_lr, rho=0.95, eps=1e-8
        )
        self.schedulers = [NewBob(self.head, config.head_anneal_factor, config.anneal_threshold)]
        self.encoder: torch.optim.Optimizer | None = None
        if trainable.encoder_parameters:
            self.encoder = torch.optim.Adam(
                list(trainable.encoder_parameters), lr=config.encoder_lr
            )
            self.schedulers.append(
                NewBob(self.encoder, config.encoder_anneal_factor, config.anneal_threshold)
            )

    @property
    def all(self) -> list[torch.optim.Optimizer]:
        return [self.head] + ([self.encoder] if self.encoder is not None else [])

    def state_dict(self) -> dict[str, Any]:
        return {
            "optimizers": [o.state_dict() for o in self.all],
            "schedulers": [s.state_dict() for s in self.schedulers],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for optimizer, saved in zip(self.all, state["optimizers"], strict=True):
            optimizer.load_state_dict(saved)
        for scheduler, saved in zip(self.schedulers, state["schedulers"], strict=True):
            scheduler.load_state_dict(saved)


def _averaged(module: torch.nn.Module, decay: float) -> Any:
    """An EMA copy of ``module`` (weights and buffers) with ``decay`` per update; None when 0."""
    if decay == 0:
        return None
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    average = get_ema_multi_avg_fn(decay)  # type: ignore[no-untyped-call]
    return AveragedModel(module, multi_avg_fn=average, use_buffers=True)


def _my_batches(order: list[int], config: TrainConfig, rank: int, world: int) -> list[list[int]]:
    """This process's micro-batches: every world-th batch of the shared order, whole steps only.

    Every process gets the same number of micro-batches (DDP's all-reduce needs all of them in
    every step): the tail that does not fill a step is dropped, and with fewer batches than one
    step takes, the batches are reused in order to fill it.
    """
    all_batches = list(batches(order, config.batch_size))
    per_step = world * config.grad_accum
    n_steps = max(1, len(all_batches) // per_step)
    picked = [all_batches[i % len(all_batches)] for i in range(n_steps * per_step)]
    return picked[rank::world]


def _finite_everywhere(loss: torch.Tensor, world: int) -> bool:
    """True when the loss is finite in every process (a MIN all-reduce of the flag).

    Under DDP each backward all-reduces gradients, so a process that skips a micro-batch alone
    leaves the others waiting forever: all skip it together, or none does. The flag lives where
    the backend reduces (CPU for gloo, the loss's GPU for nccl).
    """
    finite = bool(torch.isfinite(loss).all())
    if world == 1:
        return finite
    device = loss.device if dist.get_backend() == "nccl" else torch.device("cpu")
    flag = torch.tensor([int(finite)], dtype=torch.int32, device=device)
    dist.all_reduce(flag, op=dist.ReduceOp.MIN)
    return bool(flag.item())


def _autocast(enabled: bool, device: torch.device) -> Any:
    if enabled and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return torch.autocast(device.type, enabled=False)


def fit(
    trainable: Trainable,
    train_data: _SongUtterances,
    valid_data: _SongUtterances,
    config: TrainConfig,
    run_dir: str | Path,
    *,
    on_best: Callable[[torch.nn.Module, Evaluation, int], None] | None = None,
    progress: bool = True,
    stop_after_steps: int | None = None,
) -> FitResult:
    """Train, validate each epoch, keep the best model, resume from ``run_dir/last.pt``.

    Args:
        trainable: The model, its parameter groups, forward and loss functions.
        train_data: Training utterances.
        valid_data: Validation utterances (scored per whole song).
        config: Loop settings.
        run_dir: Folder for ``last.pt``, ``log.csv`` (and what ``on_best`` writes).
        on_best: Called (rank 0 only) with the module, the validation scores and the epoch when
            validation COnPOff F1 improves: save the best model there.
        progress: Show tqdm progress bars.
        stop_after_steps: Stop (as a crash would) after this many optimiser steps in this call;
            for tests of resumption.

    Returns:
        The best validation COnPOff F1, its epoch, the last checkpoint and the per-epoch history.
    """
    from tqdm import tqdm

    assert trainable.forward is not None and trainable.loss is not None
    run_dir = Path(run_dir)
    rank, world = _world()
    device = next(trainable.module.parameters()).device
    torch.manual_seed(config.seed)
    optimisers = _Optimisers(trainable, config.optim)
    last_path = run_dir / "last.pt"
    start_epoch, start_batch, global_step = 1, 0, 0
    best_metric, best_epoch = -1.0, 0
    history: list[dict[str, float]] = []
    resumed_losses: list[float] = []
    losses: list[float] = []
    ema = _averaged(trainable.module, config.ema_decay)
    if last_path.exists():
        state = load_training_state(last_path)
        trainable.module.load_state_dict(state["model"])
        if ema is not None:
            ema.load_state_dict(state["ema"])
        optimisers.load_state_dict(state)
        start_epoch, start_batch = int(state["epoch"]), int(state["batch_in_epoch"])
        global_step, best_metric = int(state["global_step"]), float(state["best_metric"])
        best_epoch, history = int(state["best_epoch"]), list(state["history"])
        _set_rng_state(state["rng"])
        resumed_losses = [float(x) for x in state.get("epoch_losses", [])]
        logger.info("resuming from %s (epoch %d, batch %d)", last_path, start_epoch, start_batch)

    model_entries: dict[str, Any] = {}
    if trainable.model_config is not None:  # last.pt then loads as a model, like best.safetensors
        model_entries = {
            "model_config": trainable.model_config,
            "model_prefix": trainable.model_prefix,
        }

    def checkpoint(epoch: int, batch_in_epoch: int) -> None:
        if rank != 0:
            return
        save_training_state(
            last_path,
            {
                "model": trainable.module.state_dict(),
                **optimisers.state_dict(),
                "epoch": epoch,
                "batch_in_epoch": batch_in_epoch,
                "global_step": global_step,
                "best_metric": best_metric,
                "best_epoch": best_epoch,
                "history": history,
                "rng": _rng_state(),
                "epoch_losses": list(losses) if batch_in_epoch else [],
                **({"ema": ema.state_dict()} if ema is not None else {}),
                **model_entries,
            },
        )

    steps_this_call = 0
    tensorboard: Any = None  # created at the first epoch end (rank 0), False when unavailable
    for epoch in range(start_epoch, config.epochs + 1):
        probing = epoch <= config.linear_probe_epochs
        for p in trainable.encoder_parameters:
            p.requires_grad_(not probing)
        model: torch.nn.Module = trainable.module
        if world > 1:  # rebuilt each epoch: DDP fixes its parameter set when it is built
            model = torch.nn.parallel.DistributedDataParallel(trainable.module)
        order = epoch_order(
            len(train_data),
            epoch=epoch,
            seed=config.seed,
            shuffle=config.shuffle,
            durations_s=train_data.durations_s(),
        )
        my_batches = _my_batches(order, config, rank, world)
        model.train()
        n_nonfinite, losses = 0, resumed_losses
        resumed_losses = []
        bar = tqdm(
            total=len(my_batches),
            initial=start_batch,
            desc=f"epoch {epoch}/{config.epochs}",
            disable=not progress or rank != 0,
            leave=False,
            unit="batch",
        )
        for b in range(start_batch, len(my_batches), config.grad_accum):
            for optimizer in optimisers.all:
                optimizer.zero_grad(set_to_none=True)
            step_loss = 0.0
            finite = True
            for micro in my_batches[b : b + config.grad_accum]:
                batch = collate([train_data[i] for i in micro]).to(device)
                with _autocast(config.amp, device):
                    logits, lengths = trainable.forward(model, batch)
                    loss = trainable.loss(
                        logits.float(), lengths, batch.labels, batch.label_lengths
                    )
                if not _finite_everywhere(loss, world):  # every rank skips, or none does
                    finite = False
                    break
                (loss / config.grad_accum).backward()  # type: ignore[no-untyped-call]
                step_loss += float(loss.detach()) / config.grad_accum
            bar.update(min(config.grad_accum, len(my_batches) - b))
            if not finite:
                n_nonfinite += 1
                logger.warning(
                    "epoch %d, batch %d: loss not finite (on this or another process), "
                    "step skipped",
                    epoch,
                    b,
                )
                if n_nonfinite > config.max_nonfinite:
                    raise AvsvtError(
                        f"loss not finite in more than {config.max_nonfinite} batches "
                        f"of epoch {epoch}",
                        path=run_dir,
                    )
                continue
            params = [p for p in trainable.module.parameters() if p.grad is not None]
            torch.nn.utils.clip_grad_norm_(params, config.optim.grad_clip_norm)
            for optimizer in optimisers.all:
                if not (probing and optimizer is optimisers.encoder):
                    optimizer.step()
            if ema is not None:
                ema.update_parameters(trainable.module)
            losses.append(step_loss)
            global_step += 1
            steps_this_call += 1
            bar.set_postfix(loss=f"{step_loss:.3f}")
            if config.checkpoint_every_steps and global_step % config.checkpoint_every_steps == 0:
                checkpoint(epoch, b + config.grad_accum)
            if stop_after_steps is not None and steps_this_call >= stop_after_steps:
                bar.close()
                return FitResult(best_metric, best_epoch, last_path, history)
        bar.close()
        start_batch = 0
        kept = trainable.module if ema is None else ema.module  # what is validated and saved
        evaluation, valid_loss = evaluate_dataset(
            trainable if ema is None else replace(trainable, module=kept),
            valid_data,
            batch_size=config.eval_batch_size,
            progress=progress and rank == 0,
        )
        for scheduler in optimisers.schedulers:
            scheduler.step(valid_loss)
        metric = getattr(evaluation.mean, config.select_metric).f1
        row = {
            "epoch": float(epoch),
            "step": float(global_step),
            "train_loss": float(sum(losses) / max(1, len(losses))),
            "valid_loss": valid_loss,
            **{f"valid_{m}": getattr(evaluation.mean, m).f1 for m in METRICS},
            "head_lr": optimisers.schedulers[0].lr,
        }
        history.append(row)
        if metric > best_metric:
            best_metric, best_epoch = metric, epoch
            if on_best is not None and rank == 0:
                on_best(kept, evaluation, epoch)
        if rank == 0:  # the log first: a kill before the checkpoint redoes (and relogs) the epoch
            write_log(run_dir / "log.csv", history)
            if tensorboard is None:
                tensorboard = _summary_writer(run_dir) or False
            if tensorboard:
                for name, value in row.items():
                    if name not in ("epoch", "step"):
                        tensorboard.add_scalar(name, value, global_step=epoch)
                tensorboard.flush()
            logger.info(
                "epoch %d: train loss %.4f, valid loss %.4f, valid %s %.3f%s",
                epoch,
                row["train_loss"],
                valid_loss,
                config.select_metric,
                metric,
                " (best)" if best_epoch == epoch else "",
            )
        checkpoint(epoch + 1, 0)
    if tensorboard:
        tensorboard.close()
    return FitResult(best_metric, best_epoch, last_path, history)


def _summary_writer(run_dir: Path) -> Any:
    """A TensorBoard writer into ``run_dir/tensorboard`` if tensorboard is installed, else None."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except Exception:  # noqa: BLE001 - absent, or broken by a protobuf it does not accept
        return None
    return SummaryWriter(log_dir=str(run_dir / "tensorboard"))


def write_log(path: Path, history: list[dict[str, float]]) -> None:
    """Write a training history (one row per epoch or checkpoint) as CSV, atomically."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(history[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(history)
    with atomic_path(path) as tmp:
        tmp.write_text(buffer.getvalue())
