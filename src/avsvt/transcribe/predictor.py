"""What ``avsvt transcribe`` runs: the default model, a trained checkpoint, or an f0 note tracker.

* the default (no ``--model``): the pitch network shipped in the package
  (:data:`DEFAULT_MODEL`, trained by ``configs/default-model.yaml``, :mod:`avsvt.pitchnet`),
  handing a recording of a voice alone to the f0 tracker (:mod:`avsvt.pitchnet.route`);
* ``f0`` (:data:`F0_TRACKER_NAME`): the built-in f0 note tracker, fastest, for clean solo voice;
* a ``.json`` file: a fitted f0 tracker, the model file the recipe's ``f0notes`` step writes;
* a pitch-network model file (``model.safetensors`` of the default-model recipe), the network
  alone (the shipped one too, named by its path);
* any other checkpoint, through :func:`avsvt.models.checkpoint.load_model`.

Models are imported on use: the f0 tracker needs no torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from avsvt.errors import CheckpointError
from avsvt.f0notes import F0NoteSettings

if TYPE_CHECKING:
    from avsvt.models.transcriber import Transcriber
    from avsvt.pitchnet.route import SoloRouted
    from avsvt.pitchnet.track import PitchNetTracker

DEFAULT_MODEL = Path(__file__).resolve().parents[1] / "assets" / "default-pitch.safetensors"
"""The learned default model shipped inside the package."""
F0_TRACKER_NAME = "f0"
"""``--model f0``: the built-in f0 note tracker."""


@dataclass(frozen=True)
class F0NoteTracker:
    """The built-in transcription: notes from the voice's f0, audio only (:mod:`avsvt.f0notes`)."""

    settings: F0NoteSettings = field(default_factory=F0NoteSettings)

    @property
    def uses_video(self) -> bool:
        """Always False: the tracker listens only."""
        return False


Transcription: TypeAlias = "Transcriber | F0NoteTracker | PitchNetTracker | SoloRouted"
"""What :func:`avsvt.transcribe.api.transcribe_array` runs (module docstring)."""


def load_predictor(model: str | Path | None) -> Transcription:
    """Load what ``model`` names (module docstring); None is the default model.

    Raises:
        CheckpointError: Missing file, or not a model avsvt can transcribe with.
    """
    if model is None:
        if not DEFAULT_MODEL.exists():  # a source tree before the recipe's first run
            return F0NoteTracker()
        from avsvt.pitchnet.route import SoloRouted
        from avsvt.pitchnet.track import load_pitchnet

        return SoloRouted(load_pitchnet(DEFAULT_MODEL))
    if str(model) == F0_TRACKER_NAME:
        return F0NoteTracker()
    path = Path(model)
    if path.suffix.lower() == ".json":
        from avsvt.f0notes import read_f0_model

        return F0NoteTracker(read_f0_model(path)[0])
    if not path.exists():
        raise CheckpointError("model file not found", path=path)
    from avsvt.pitchnet.track import is_pitchnet_file, load_pitchnet

    if is_pitchnet_file(path):
        return load_pitchnet(path)
    from avsvt.models.checkpoint import load_model

    return load_model(path)
