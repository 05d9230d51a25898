"""What the training loop trains: a model, its parameter groups, forward and loss functions.

Its own module so that the loop (:mod:`avsvt.train.loop`) and whole-song evaluation
(:mod:`avsvt.train.evaluate`) both depend on it without depending on each other.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from avsvt.models.apply import Batch

ForwardFn = Callable[[torch.nn.Module, Batch], tuple[torch.Tensor, torch.Tensor]]
"""(model, batch) -> (logits (B, T, 20), frame lengths (B,))."""
LossFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
"""(logits, lengths, labels (B, T', 4), label lengths) -> scalar loss."""


@dataclass(frozen=True)
class Trainable:
    """A model and how to train it: which parameters are the head and which the encoder.

    Attributes:
        module: What the loop runs (wrapped in DistributedDataParallel under torchrun).
        head_parameters: Trained by Adadelta.
        encoder_parameters: Trained by Adam (frozen while linear probing).
        forward: ``(module, batch) -> (logits, lengths)``.
        loss: ``(logits, lengths, labels, label lengths) -> loss``.
        fps: Output frames per second.
        model_config: The :class:`~avsvt.models.Transcriber`'s config as
            ``ModelConfig.to_dict()`` when ``module`` is (or wraps) one: the loop stores it in
            ``last.pt``, so :func:`avsvt.models.load_model` rebuilds the model from ``last.pt``
            as from ``best.safetensors``. None: ``last.pt`` only resumes training.
        model_prefix: Where the transcriber's weights sit in ``module.state_dict()``: ``""`` when
            ``module`` is the transcriber, ``"transcriber."`` for stage 2's ``FeatureModel``.
            Stored in ``last.pt`` beside ``model_config``; the reader strips it.
    """

    module: torch.nn.Module
    head_parameters: Sequence[torch.nn.Parameter]
    encoder_parameters: Sequence[torch.nn.Parameter] = ()
    forward: ForwardFn | None = None
    loss: LossFn | None = None
    fps: float = 49.8
    model_config: dict[str, Any] | None = None
    model_prefix: str = ""
