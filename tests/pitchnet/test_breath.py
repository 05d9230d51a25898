"""``DataConfig.breath_power``: the singers' breathiness draw, and what it does to a voice."""

from __future__ import annotations

import numpy as np
import pytest

from avsvt.config import FieldError
from avsvt.f0 import yin
from avsvt.pitchnet.data import DataConfig, render_stems, vary_plan
from avsvt.synth.melody import plan_song


def _breathiness(seed: int, power: float) -> float:
    rng = np.random.default_rng([seed, 7])
    return vary_plan(plan_song(rng, 4.0), rng, breath_power=power).singer.breathiness


@pytest.mark.parametrize("seed", range(6))
def test_breathiness_is_the_same_draw_raised_to_the_power(seed: int) -> None:
    uniform = _breathiness(seed, 1.0)
    assert 0.0 <= uniform <= 0.35
    u = uniform / 0.35  # the one uniform number the singer was drawn from
    assert _breathiness(seed, 2.0) == pytest.approx(0.35 * u**2, rel=1e-12)
    assert _breathiness(seed, 3.0) <= _breathiness(seed, 2.0) <= uniform


def test_the_uniform_draw_is_the_numpy_uniform_of_the_shipped_data() -> None:
    # power 1 must give the bytes the shipped model trained on: rng.uniform(0, 0.35), drawn
    # after the transposition, the formant scale and the tilt.
    rng = np.random.default_rng([4, 7])
    plan = plan_song(rng, 4.0)
    replay = np.random.default_rng()
    replay.bit_generator.state = rng.bit_generator.state
    drawn = vary_plan(plan, rng).singer.breathiness
    replay.integers(-6, 7)
    replay.uniform(0.92, 1.1)
    replay.uniform(0.6, 2.2)
    assert drawn == replay.uniform(0.0, 0.35)


def _median_voiced_aperiodicity(seed: int, power: float) -> float:
    stems = render_stems(seed, 5.0, breath_power=power)
    track = yin(stems.vocals)
    n = min(len(track.aperiodicity), len(stems.voiced))
    return float(np.median(track.aperiodicity[:n][stems.voiced[:n]]))


def test_a_clearer_singer_is_more_periodic_by_yin() -> None:
    # Oracle independent of the renderer: YIN's aperiodicity on the clean vocals' voiced frames.
    seed = next(s for s in range(20) if _breathiness(s, 1.0) > 0.2)  # a breathy singer
    breathy = _median_voiced_aperiodicity(seed, 1.0)
    clearer = _median_voiced_aperiodicity(seed, 6.0)
    assert breathy > 0.1
    assert clearer < breathy / 3


@pytest.mark.parametrize("value", [0.0, -1.0, float("nan")])
def test_breath_power_must_be_positive(value: float) -> None:
    with pytest.raises(FieldError, match="breath_power"):
        DataConfig(breath_power=value)
