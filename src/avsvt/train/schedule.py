"""The NewBob learning-rate annealing the reference uses (SpeechBrain's ``NewBobScheduler``).

Called once per epoch with the validation loss: when the relative improvement
``(previous - current) / previous`` is below ``threshold`` (0.0025), the learning rate is multiplied
by ``factor`` (0.8 for heads, 0.9 for encoders); patience 0 as in the reference.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch


@dataclass
class NewBob:
    """NewBob annealing of one optimiser's learning rate (state is checkpointed)."""

    optimizer: torch.optim.Optimizer
    factor: float
    threshold: float = 0.0025
    patience: int = 0
    previous_metric: float | None = None
    _waited: int = 0

    @property
    def lr(self) -> float:
        """The current learning rate (of the first parameter group)."""
        return float(self.optimizer.param_groups[0]["lr"])

    def step(self, metric: float) -> bool:
        """Record this epoch's validation loss; returns True when the learning rate was annealed."""
        annealed = False
        if self.previous_metric is not None and self.previous_metric != 0:
            improvement = (self.previous_metric - metric) / self.previous_metric
            if improvement < self.threshold:
                if self._waited >= self.patience:
                    for group in self.optimizer.param_groups:
                        group["lr"] = group["lr"] * self.factor
                    annealed = True
                    self._waited = 0
                else:
                    self._waited += 1
        self.previous_metric = metric
        return annealed

    def state_dict(self) -> dict[str, Any]:
        """Scheduler state (the learning rate itself lives in the optimiser's state)."""
        return {"previous_metric": self.previous_metric, "waited": self._waited}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` output."""
        self.previous_metric = state["previous_metric"]
        self._waited = int(state["waited"])
