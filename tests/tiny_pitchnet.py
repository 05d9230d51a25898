"""The tiny pitch network and default-model recipe the pitchnet tests train (seconds on 2 cores)."""

from __future__ import annotations

from pathlib import Path

from avsvt.pitchnet.model import PitchNetConfig

TINY_NET = PitchNetConfig(channels=4, octave_channels=2, octave_kernel_bins=5)
"""A pitch network small enough to train and run in a test."""

TINY_RECIPE = """recipe: default-model
out_dir: {out}
progress: false
train:
  n_songs: 2
  n_valid_songs: 1
  song_s: 3.0
  steps: 3
  batch_size: 2
  crop_s: 1.0
  warmup_steps: 1
  checkpoint_every: 2
  workers: 1
  threads: 1
  model: {{channels: {net.channels}, octave_channels: {net.octave_channels}, \
octave_kernel_bins: {net.octave_kernel_bins}}}
"""
"""A default-model recipe config (``{out}``: its out_dir) that trains :data:`TINY_NET`."""


def write_tiny_recipe(config: Path, out: Path) -> Path:
    """Write :data:`TINY_RECIPE` with ``out`` as its out_dir to ``config``; returns ``config``."""
    config.write_text(TINY_RECIPE.format(out=out, net=TINY_NET))
    return config
