"""Feature extraction with the best stage-1 models (reference section 5), batched and resumable.

For every song of every split (train included, fixing quirk Q6) one (T, D) array per stream:

* ``<song>/clean.npy``: the audio encoder on the clean vocals;
* ``<song>/<type>_<snr>dB.npy``: the same encoder (trained on clean vocals only, as the reference)
  on each noisy mixture: the written ``noise_data`` file when there is one, else the identical
  mixture made in memory (:class:`~avsvt.noise.synthesis.NoiseMixer`);
* ``<song>/video.npy``: the video encoder on the mouth crops.

As in the reference, a song is encoded per 5-s utterance (the same cut as training) and the
utterances' frames are concatenated, by the one inference engine
(:func:`avsvt.models.apply.encode_song`): what stage 2 trains on is what the whole model computes
when it runs on raw inputs. The
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
from avsvt.data.audio import read_audio
from avsvt.data.n20em import Song
from avsvt.data.prepare import save_npy_atomic
from avsvt.data.video import read_video
from avsvt.models import Transcriber, load_model
from avsvt.models.apply import encode_song
from avsvt.noise.synthesis import NoiseMixer
from avsvt.recipes.config import FeaturesConfig, NoiseConfig
from avsvt.recipes.steps import fresh_dir
from avsvt.report import Condition
from avsvt.train.datasets import song_samples

logger = logging.getLogger(__name__)

VIDEO_FEATURES = "video"
FEATURE_CUT = "per-stream-utterances-v2"
"""How songs are cut for encoding; a change invalidates features written by older versions (v1
cut the video by the video's own length)."""


def feature_path(features_dir: str | Path, song_id: str, stream: str) -> Path:
    """``<features_dir>/<song>/<stream>.npy``; stream is a condition name or ``video``."""
    return Path(features_dir) / song_id / f"{stream}.npy"


def conditions(noise: NoiseConfig) -> list[Condition]:
    """Clean first, then every (type, SNR) in config order."""
    return [Condition()] + [Condition(t, s) for t in noise.types for s in noise.snrs_db]


def encode_audio(
    model: Transcriber, waveform: npt.NDArray[np.float32], *, batch_size: int
) -> npt.NDArray[np.float32]:
    """Audio encoder features of a whole song, utterance by utterance: (T, D) at 49.8 fps."""
    return encode_song(model, audio=waveform, batch_size=batch_size).values


def encode_video(
    model: Transcriber,
    frames: npt.NDArray[np.uint8],
    *,
    batch_size: int,
    n_samples: int | None = None,
) -> npt.NDArray[np.float32]:
    """Video encoder features of a whole song, utterance by utterance: (T, D) at 50 fps.

    ``n_samples``: the song's audio length, so the video is cut into the audio's utterances (as
    an audio-visual model cuts it); default: the video's own length.
    """
    return encode_song(model, video=frames, n_samples=n_samples, batch_size=batch_size).values


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
        "cut": FEATURE_CUT,
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
                array = encode_video(
                    model("video"),
                    frames,
                    batch_size=config.batch_size,
                    n_samples=song_samples(song),
                )
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
