"""Options added after runs existed leave a finished run's step fingerprints alone while off."""

from __future__ import annotations

from pathlib import Path

from avsvt.config import load_config
from avsvt.recipes.config import RunConfig
from avsvt.recipes.pipeline import LATER_OPTIONS, LATER_TRAIN_OPTIONS, Run
from avsvt.recipes.steps import fingerprint

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


# the demo with every later option off (configs/demo.yaml turns stage2.train_types and
# stage2.missing_video_p on)
OFF = ("stage2.train_types=[]", "stage2.missing_video_p=0.0")


def _steps(tmp_path: Path, *overrides: str) -> dict[str, object]:
    config = load_config(
        RunConfig, CONFIGS / "demo.yaml", [f"out_dir={tmp_path}", *OFF, *overrides]
    )
    return {step.name: step.settings for step in Run(config).steps()}


def _keys(value: object) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


def test_options_off_are_not_in_any_fingerprint(tmp_path: Path) -> None:
    for name, settings in _steps(tmp_path).items():
        assert not (_keys(settings) & (LATER_OPTIONS | LATER_TRAIN_OPTIONS)), name


def test_an_option_on_changes_exactly_the_steps_that_depend_on_it(tmp_path: Path) -> None:
    base = {k: fingerprint(v) for k, v in _steps(tmp_path).items()}
    video = {
        k: fingerprint(v) for k, v in _steps(tmp_path, "video.speedup.probability=0.5").items()
    }
    changed = {k for k in base if base[k] != video[k]}
    assert changed == {"stage1-video", "features", "stage2", "report"}
    fusion = {k: fingerprint(v) for k, v in _steps(tmp_path, "stage2.drop_video_p=0.25").items()}
    assert {k for k in base if base[k] != fusion[k]} == {"stage2", "report"}
    lost = {k: fingerprint(v) for k, v in _steps(tmp_path, "stage2.missing_video_p=0.25").items()}
    assert {k for k in base if base[k] != lost[k]} == {"stage2", "report"}
    # white noise's features are extracted too, for stage 2 to train on
    pooled = {k: fingerprint(v) for k, v in _steps(tmp_path, "stage2.train_types=[white]").items()}
    assert {k for k in base if base[k] != pooled[k]} == {"features", "stage2", "report"}
    ema = {k: fingerprint(v) for k, v in _steps(tmp_path, "video.train.ema_decay=0.98").items()}
    assert {k for k in base if base[k] != ema[k]} == {
        "stage1-video",
        "features",
        "stage2",
        "report",
    }


# What `make demo` recorded in runs/demo/steps/*.done at commit 135ab49, before these options
# existed (a change of configs/demo.yaml changes these, and the demo then reruns anyway).
DEMO_BEFORE = {
    "corpus": "96b154aa992bccd9",
    "stage1-audio": "f65631333f54dc2e",
    "stage1-video": "ba400eeb19497beb",
    "features": "6e5c1543b771ae2f",
    "stage2": "460b777e983f2773",
    "report": "440477409ae26e4c",
}


def test_the_demo_fingerprints_match_a_run_made_before_the_options(tmp_path: Path) -> None:
    now = {k: fingerprint(v) for k, v in _steps(tmp_path).items()}
    assert {k: now[k] for k in DEMO_BEFORE} == DEMO_BEFORE
