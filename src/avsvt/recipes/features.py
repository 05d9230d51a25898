"""Feature extraction with the best stage-1 models (reference section 5), batched and resumable.

For every song of every split (train included, fixing quirk Q6) one (T, D) array per stream:

* ``<song>/clean.npy``: the audio encoder on the clean vocals;
* ``<song>/<type>_<snr>dB.npy``: the same encoder (trained on clean vocals only, as the reference)
  on each noisy mixture: the written ``noise_data`` file when there is one, else the identical
  mixture made in memory (:class:`~avsvt.noise.synthesis.NoiseMixer`);
* ``<song>/video.npy``: the video encoder on the mouth crops.

As in the reference, a song is encoded per 5-s utterance (the same cut as training) and the
utterances' frames are concatenated; here the utterances of a song run as one padded batch. The
arrays live in the run folder (not in the data root, unlike the reference), each written
atomically, so a rerun skips finished files. ``settings.json`` records the checkpoints' hashes: new
stage-1 models (or other noise settings) invalidate every feature.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import torch

from avsvt.config import to_dict
from avsvt.constants import AUDIO_FPS, SAMPLE_RATE, VIDEO_FPS
from avsvt.data.audio import read_audio
from avsvt.data.n20em import Song
from avsvt.data.prepare import save_npy_atomic
from avsvt.data.video import read_video
from avsvt.labels import n_label_frames
from avsvt.models import Transcriber, load_model
from avsvt.noise.synthesis import NoiseMixer
from avsvt.recipes.config import FeaturesConfig, NoiseConfig
from avsvt.recipes.steps import fresh_dir
from avsvt.report import Condition
from avsvt.train.datasets import pad_batch
from avsvt.train.utterances import song_utterances

logger = logging.getLogger(__name__)

VIDEO_FEATURES = "video"


def feature_path(features_dir: str | Path, song_id: str, stream: str) -> Path:
    """``<features_dir>/<song>/<stream>.npy``; stream is a condition name or ``video``."""
    return Path(features_dir) / song_id / f"{stream}.npy"


def conditions(noise: NoiseConfig) -> list[Condition]:
    """Clean first, then every (type, SNR) in config order."""
    return [Condition()] + [Condition(t, s) for t in noise.types for s in noise.snrs_db]


@torch.no_grad()
def encode_audio(
    model: Transcriber, waveform: npt.NDArray[np.float32], *, batch_size: int
) -> npt.NDArray[np.float32]:
    """Audio encoder features of a whole song, utterance by utterance: (T, D) at 49.8 fps."""
    spans = song_utterances(
        "",
        n_samples=len(waveform),
        n_audio_frames=n_label_frames(len(waveform), AUDIO_FPS),
        n_video_frames=n_label_frames(len(waveform), VIDEO_FPS),
    )
    pieces = [torch.from_numpy(np.ascontiguousarray(waveform[s.samples])) for s in spans]
    return _encode(model, pieces, batch_size, "audio")


@torch.no_grad()
def encode_video(
    model: Transcriber, frames: npt.NDArray[np.uint8], *, batch_size: int
) -> npt.NDArray[np.float32]:
    """Video encoder features of a whole song, utterance by utterance: (T, D) at 50 fps."""
    n_samples = round(len(frames) / VIDEO_FPS * SAMPLE_RATE)
    spans = song_utterances(
        "",
        n_samples=n_samples,
        n_audio_frames=n_label_frames(n_samples, AUDIO_FPS),
        n_video_frames=len(frames),
    )
    pieces = [torch.from_numpy(np.ascontiguousarray(frames[s.video_frames])) for s in spans]
    return _encode(model, pieces, batch_size, "video")


def _encode(
    model: Transcriber, pieces: Sequence[torch.Tensor], batch_size: int, stream: str
) -> npt.NDArray[np.float32]:
    device = next(model.parameters()).device
    out: list[np.ndarray] = []
    for start in range(0, len(pieces), batch_size):
        chunk = pieces[start : start + batch_size]
        x = pad_batch(chunk).to(device)
        lengths = torch.tensor([len(p) for p in chunk], device=device)
        features = model.encode(**{stream: x, f"{stream}_lengths": lengths})
        values = features.audio if stream == "audio" else features.video
        n_frames = features.audio_lengths if stream == "audio" else features.video_lengths
        assert values is not None and n_frames is not None
        for row in range(len(chunk)):
            out.append(values[row, : int(n_frames[row])].float().cpu().numpy())
    return np.concatenate(out).astype(np.float32)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def extract_features(
    songs: Sequence[Song],
    *,
    audio_model: Path,
    video_model: Path | None,
    features_dir: str | Path,
    noise: NoiseConfig,
    config: FeaturesConfig,
    babble_dir: Path | None = None,
    natural_dir: Path | None = None,
    device: torch.device | str = "cpu",
    progress: bool = True,
) -> int:
    """Write every missing feature array; returns how many were written.

    Args:
        songs: Every song (all splits).
        audio_model: The best stage-1 audio checkpoint.
        video_model: The best stage-1 video checkpoint (None: no video features).
        features_dir: Output folder.
        noise: The conditions (types, SNRs, seed, mixing rule, whether files were written).
        config: Batch size and storage type.
        babble_dir: Babble clips (for the babble type).
        natural_dir: MUSAN ``noise/`` (for the natural type).
        device: Where the encoders run.
        progress: Show a progress bar.
    """
    from tqdm import tqdm

    features_dir = Path(features_dir)
    models = {"audio": audio_model} | ({"video": video_model} if video_model else {})
    settings = {
        "models": {name: _sha256(path) for name, path in sorted(models.items())},
        "noise": to_dict(noise),
        "pools": [str(babble_dir), str(natural_dir)],
        "features": to_dict(config),
    }
    fresh_dir(features_dir, settings)
    loaded: dict[str, Transcriber] = {}

    def model(name: str) -> Transcriber:
        if name not in loaded:
            loaded[name] = load_model(models[name]).to(device).eval()
        return loaded[name]

    mixer = NoiseMixer(
        babble_dir=babble_dir,
        natural_dir=natural_dir,
        seed=noise.seed,
        rule=noise.rule,
        types=noise.types,
    )
    dtype = np.dtype(config.dtype)
    wanted = conditions(noise)
    written = 0
    for song in tqdm(songs, desc="features", unit="song", disable=not progress):
        streams = [c.name for c in wanted] + ([VIDEO_FEATURES] if video_model else [])
        for stream, condition in zip(streams, [*wanted, None], strict=False):
            path = feature_path(features_dir, song.song_id, stream)
            if path.exists():
                continue
            if condition is None:
                frames = read_video(song.video_path)
                array = encode_video(model("video"), frames, batch_size=config.batch_size)
            else:
                waveform = _waveform(song, condition, mixer, noise)
                array = encode_audio(model("audio"), waveform, batch_size=config.batch_size)
            save_npy_atomic(path, array.astype(dtype))
            written += 1
    return written


def _waveform(
    song: Song, condition: Condition, mixer: NoiseMixer, noise: NoiseConfig
) -> npt.NDArray[np.float32]:
    """The clean vocals, the written noisy file, or the same mixture made in memory."""
    if condition.noise_type is None or condition.snr_db is None:
        return read_audio(song.vocals_path)
    stored = song.noisy_path(condition.noise_type, condition.snr_db)
    if noise.write_files and stored.exists():
        return read_audio(stored)
    return mixer.mixture(song, condition.noise_type, condition.snr_db)
