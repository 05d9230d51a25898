"""``avsvt run configs/default-model.yaml``: the recipe of the default model.

A config whose top-level ``recipe`` is ``default-model`` is this recipe rather than the
two-stage pipeline. It writes into ``out_dir`` (new, empty or an avsvt run, as the pipeline's):

* ``stems/``: the generated songs (cleared and redrawn when ``train``'s data settings change);
* ``model/``: ``last.pt`` (resumable), ``log.csv`` (with ``train.members`` > 1, one
  ``member-<k>/`` folder of them per network of the ensemble), the finished
  ``model.safetensors`` and ``results.json`` (the fitted decoding and its validation scores);
  cleared when any training setting changes. A finished run whose decoding was fitted by an
  older version of the fit (:data:`avsvt.pitchnet.train.FIT_VERSION`) is refitted on its own
  weights, not retrained.

The shipped default model (:data:`avsvt.transcribe.predictor.DEFAULT_MODEL`) is this recipe's
``model/model.safetensors`` with the settings of ``configs/default-model.yaml``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from avsvt.config import to_dict
from avsvt.data.atomic import write_text_atomic
from avsvt.data.lock import run_lock
from avsvt.pitchnet.data import DataConfig
from avsvt.pitchnet.train import (
    FIT_VERSION,
    PitchTrainConfig,
    refit_default_model,
    train_default_model,
)
from avsvt.recipes.steps import (
    check_run_folder,
    claim_run_folder,
    fresh_dir,
    seal_dir,
    without_defaults,
)

logger = logging.getLogger(__name__)

LATER_DATA_OPTIONS = frozenset({"tails", "room_p"})
"""Data options added after runs existed: left out of the stems' and the model's fingerprints
while off (:func:`avsvt.recipes.steps.without_defaults`)."""
LATER_TRAIN_OPTIONS = frozenset({"members"})
"""Training options added after runs existed: left out of the model's fingerprint at their
default, as :data:`LATER_DATA_OPTIONS` are."""

RECIPE_NAME = "default-model"


@dataclass(frozen=True)
class DefaultModelRun:
    """The default-model recipe's config (``configs/default-model.yaml``)."""

    recipe: Literal["default-model"] = "default-model"
    out_dir: str = "runs/default-model"
    progress: bool = True
    train: PitchTrainConfig = field(default_factory=PitchTrainConfig)


def run_default_model(config: DefaultModelRun) -> Path:
    """Run (or finish) the recipe; returns the model file."""
    out = Path(config.out_dir)
    check_run_folder(out)
    with run_lock(out):
        claim_run_folder(out)
        train = config.train
        data_settings = {
            "seed": train.seed,
            "n_songs": train.n_songs,
            "n_valid_songs": train.n_valid_songs,
            "song_s": train.song_s,
            "timbre": train.data.timbre,
            "breath_power": train.data.breath_power,
            **without_defaults({"tails": train.data.tails}, DataConfig, LATER_DATA_OPTIONS),
        }
        model_dir = out / "model"
        results = model_dir / "results.json"
        settings = without_defaults(to_dict(train), PitchTrainConfig, LATER_TRAIN_OPTIONS)
        settings["data"] = without_defaults(settings["data"], DataConfig, LATER_DATA_OPTIONS)
        stems = fresh_dir(out / "stems", data_settings)
        model_dir = fresh_dir(model_dir, settings)
        path = model_dir / "model.safetensors"
        if results.exists() and _fit_version(results) == FIT_VERSION:
            logger.info("already trained: %s", path)
            seal_dir(stems)
            seal_dir(model_dir)
            return path
        if results.exists():  # trained, but its decoding was fitted by an older fit
            logger.info("refitting the decoding of %s", path)
            refit_default_model(path, train, stems_dir=stems, progress=config.progress)
        else:
            train_default_model(model_dir, train, stems_dir=stems, progress=config.progress)
        seal_dir(stems)
        from avsvt.pitchnet.track import load_pitchnet

        tracker = load_pitchnet(path)
        body = {
            "f0notes": to_dict(tracker.settings),
            "decode": {"salience_weight": tracker.salience_weight},
            "info": tracker.info,
        }
        write_text_atomic(results, json.dumps(body, indent=2) + "\n")
        seal_dir(model_dir)
        return path


def _fit_version(results: Path) -> int:
    """The fit version a finished run's ``results.json`` records (1 before it was recorded)."""
    try:
        return int(json.loads(results.read_text())["info"].get("fit_version", 1))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return 0
