"""Running the pitch network on a whole recording, and its model file.

A recording is level-normalised as a whole (:func:`avsvt.pitchnet.features.normalise_level`),
then analysed in windows of ``window_s`` with ``context_s`` of audio on each side, so memory stays
bounded for any length; the context is wider than the network's receptive field (about 0.25 s), so
the stitched outputs equal one pass over the whole recording.

The model file is safetensors: the weights, and in its header the network's config, the fitted
note segmentation (:class:`avsvt.f0notes.F0NoteSettings`, whose ``max_aperiodicity`` is
``1 - voicing threshold``), the fitted voicing blend (``decode``: ``salience_weight`` of
:func:`avsvt.pitchnet.model.decode_f0`; 0 in files written before it existed) and how it was
trained. An ensemble (:class:`avsvt.pitchnet.model.PitchNetEnsemble`) stores each member's
weights under ``members.<k>.`` and their number in the header (``members``; absent: one network).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from avsvt.data.atomic import atomic_path
from avsvt.errors import CheckpointError
from avsvt.f0 import F0Track
from avsvt.f0notes import F0NoteSettings, f0_notes
from avsvt.notes import Note
from avsvt.pitchnet.features import HOP_SAMPLES, SpectrogramConfig, n_frames, normalise_level
from avsvt.pitchnet.model import PitchModel, PitchNet, PitchNetConfig, PitchNetEnsemble, decode_f0

PITCHNET_KIND = "avsvt-pitchnet"
PITCHNET_VERSION = 1


def config_to_dict(config: PitchNetConfig) -> dict[str, Any]:
    """Plain JSON values of a network config."""
    return asdict(config)


def config_from_dict(values: dict[str, Any]) -> PitchNetConfig:
    """The inverse of :func:`config_to_dict`."""
    spec = dict(values["spectrogram"])
    spec["harmonics"] = tuple(float(h) for h in spec["harmonics"])
    rest = {k: v for k, v in values.items() if k != "spectrogram"}
    return PitchNetConfig(spectrogram=SpectrogramConfig(**spec), **rest)


@dataclass
class PitchNetTracker:
    """The learned default transcription: the pitch network, then the f0 note segmentation.

    Attributes:
        model: The network, or an ensemble of networks (eval mode).
        settings: The fitted segmentation (its ``max_aperiodicity`` is 1 - voicing threshold).
        info: How the model was trained (from its file).
        salience_weight: The voicing blend (:func:`avsvt.pitchnet.model.decode_f0`).
    """

    model: PitchModel
    settings: F0NoteSettings
    info: dict[str, Any] = field(default_factory=dict)
    salience_weight: float = 0.0

    @property
    def uses_video(self) -> bool:
        """Always False: the pitch network listens only."""
        return False

    def probabilities(
        self, audio: npt.NDArray[np.floating], *, window_s: float = 30.0, context_s: float = 1.0
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """Salience (frames, n_bins) and voicing (frames,) probabilities of 16 kHz audio."""
        x = normalise_level(audio)
        total = n_frames(len(x))
        hop, ctx = int(window_s * 100), int(context_s * 100)
        n_bins = self.model.config.spectrogram.n_bins
        salience = np.zeros((total, n_bins), dtype=np.float32)
        voicing = np.zeros(total, dtype=np.float32)
        self.model.eval()
        with torch.inference_mode():
            for first in range(0, total, hop):
                last = min(total, first + hop)
                lo = max(0, first - ctx)
                hi = min(total, last + ctx)
                piece = x[lo * HOP_SAMPLES : (hi - 1) * HOP_SAMPLES + 1]
                s, v = self.model.probabilities(torch.from_numpy(np.ascontiguousarray(piece))[None])
                salience[first:last] = s[0, first - lo : last - lo].numpy()
                voicing[first:last] = v[0, first - lo : last - lo].numpy()
        return salience, voicing

    def decode(
        self, salience: npt.NDArray[np.floating], voicing: npt.NDArray[np.floating]
    ) -> F0Track:
        """The f0 track of :meth:`probabilities` (the fitted threshold and voicing blend)."""
        return decode_f0(
            salience,
            voicing,
            self.model.config.spectrogram,
            threshold=1.0 - self.settings.max_aperiodicity,
            salience_weight=self.salience_weight,
        )

    def track(self, audio: npt.NDArray[np.floating]) -> F0Track:
        """The voice's f0 track (100 frames/s)."""
        return self.decode(*self.probabilities(audio))

    def notes(self, track: F0Track) -> list[Note]:
        """Notes of an f0 track of :meth:`decode` (the fitted segmentation)."""
        return f0_notes(track, self.settings)

    def transcribe(self, audio: npt.NDArray[np.floating]) -> list[Note]:
        """Notes of 16 kHz mono audio (singing, with or without accompaniment or noise)."""
        return self.notes(self.track(audio))


def save_pitchnet(
    path: str | Path,
    model: PitchModel,
    settings: F0NoteSettings,
    info: dict[str, Any],
    *,
    salience_weight: float = 0.0,
) -> None:
    """Write a model file atomically (module docstring)."""
    from safetensors.torch import save as save_bytes

    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
    header = {
        "kind": PITCHNET_KIND,
        "format_version": str(PITCHNET_VERSION),
        "model_config": json.dumps(config_to_dict(model.config)),
        "f0notes": json.dumps(asdict(settings)),
        "decode": json.dumps({"salience_weight": float(salience_weight)}),
        "info": json.dumps(info, allow_nan=False),
    }
    if isinstance(model, PitchNetEnsemble):
        header["members"] = str(len(model.members))
    data = save_bytes(tensors, metadata=header)
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(data)


def is_pitchnet_file(path: str | Path) -> bool:
    """True when ``path`` is a safetensors file whose header says it is a pitch-network model."""
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as handle:
            return (handle.metadata() or {}).get("kind") == PITCHNET_KIND
    except Exception:  # noqa: BLE001 - anything unreadable is "not one"
        return False


def load_pitchnet(path: str | Path) -> PitchNetTracker:
    """Read a model file written by :func:`save_pitchnet`.

    Raises:
        CheckpointError: Unreadable, not a pitch-network model, or weights that do not fit.
    """
    from safetensors import safe_open
    from safetensors.torch import load as load_bytes

    path = Path(path)
    try:
        with safe_open(str(path), framework="pt") as handle:
            header = dict(handle.metadata() or {})
        weights = load_bytes(path.read_bytes())
    except Exception as exc:  # noqa: BLE001 - safetensors raises several types
        raise CheckpointError(
            f"cannot read pitch model ({str(exc).splitlines()[0]})", path=path
        ) from None
    if header.get("kind") != PITCHNET_KIND:
        raise CheckpointError("not an avsvt pitch-network model", path=path)
    try:
        config = config_from_dict(json.loads(header["model_config"]))
        settings = F0NoteSettings(**json.loads(header["f0notes"]))
        info = dict(json.loads(header.get("info", "{}")))
        salience_weight = float(json.loads(header.get("decode", "{}")).get("salience_weight", 0.0))
        if not 0.0 <= salience_weight <= 1.0:
            raise ValueError(f"salience_weight {salience_weight} outside 0..1")
        n_members = int(header.get("members", "1"))
        if n_members < 1:
            raise ValueError(f"members {n_members}")
        model: PitchModel = (
            PitchNet(config) if n_members == 1 else PitchNetEnsemble(config, n_members)
        )
        model.load_state_dict(weights)
    except Exception as exc:  # noqa: BLE001 - a damaged header or weights of another shape
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise CheckpointError(f"damaged pitch model ({first})", path=path) from None
    model.eval()
    return PitchNetTracker(model, settings, info, salience_weight)
