"""``avsvt run``: from an N20EMv2 root (or the embedded corpus) to the noise-robustness report.

Steps, each skipped when its done-marker matches its settings (:mod:`avsvt.recipes.steps`):

1. ``corpus``: the embedded synthetic corpus (only when no ``corpus.root`` is given);
2. ``validate``: the root is checked (every problem listed, errors stop the run);
   then ``f0notes``: the f0 note tracker fitted on the validation split (``f0notes/model.json``,
   a model file ``avsvt transcribe --model`` takes; its test-split scores beside it);
3. ``musan``: the embedded MUSAN-style library (only for babble/natural without ``musan_dir``);
4. ``noise``: the noisy wavs in the reference layout (only with ``noise.write_files``);
5. ``stage1-audio`` and ``stage1-video``: the single-modality systems;
6. ``features``: encoder features per song and condition;
7. ``stage2``: A and AV per condition (the grid, local or Slurm);
8. ``report``: tables, figure, piano rolls, ``results.json``, ``index.html``.

A folder whose settings changed is cleared before its step runs again (``settings.json`` in each
stage folder), so a resumed checkpoint always belongs to the same settings; a step killed midway
resumes where it stopped.

avsvt writes only into a new or empty ``out_dir`` or one of its own runs (``.avsvt-run.json``),
and clears only what it can prove it wrote (:mod:`avsvt.recipes.steps`). Before any step runs,
:meth:`Run.preflight` checks what the steps about to run need (their folders, the models they
build, with their pretrained weights, the device, Slurm, the corpus and MUSAN folders): a problem
stops the run with one line, before anything is cleared.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import json
import logging
from pathlib import Path
from typing import Any

from avsvt.config import to_dict
from avsvt.data.atomic import write_text_atomic
from avsvt.data.lock import run_lock
from avsvt.data.n20em import Song, load_songs, validate_root
from avsvt.errors import AvsvtError, ConfigError, DataError
from avsvt.models.config import ModelConfig
from avsvt.recipes.config import RunConfig
from avsvt.recipes.features import conditions, extract_features
from avsvt.recipes.stage1 import BEST, split_songs, train_stage1
from avsvt.recipes.stage2 import Stage2Job, job_dir, read_job_predictions, train_conditions
from avsvt.recipes.steps import (
    Step,
    check_run_folder,
    check_stage_dir,
    claim_run_folder,
    fresh_dir,
    pending_steps,
    read_json_file,
    run_steps,
    shared_fresh_dir,
    stage_folders,
    without_defaults,
)
from avsvt.report import Condition
from avsvt.train.settings import TrainConfig

logger = logging.getLogger(__name__)


LATER_OPTIONS = frozenset(
    {"speedup", "drop_video_p", "drop_audio_p", "missing_video_p", "train_types"}
)
"""Stage options added after runs existed: left out of a step's fingerprint while they keep
their default (off), so a run made before them stays finished and is not recomputed."""

LATER_TRAIN_OPTIONS = frozenset({"ema_decay"})
"""Training-loop options added after runs existed (``<stage>.train``), left out the same way."""


def _stage_fingerprint_settings(stage: Any) -> dict[str, Any]:
    """A stage config's settings for a fingerprint, later options left out while off."""
    settings = without_defaults(to_dict(stage), type(stage), LATER_OPTIONS)
    settings["train"] = without_defaults(settings["train"], TrainConfig, LATER_TRAIN_OPTIONS)
    return settings


class Run:
    """The paths and settings of one run (see the module docstring for the steps)."""

    def __init__(self, config: RunConfig) -> None:
        self.config = config
        self.out = Path(config.out_dir)
        self.root = Path(config.corpus.root) if config.corpus.root else self.out / "corpus"
        self.musan = Path(config.noise.musan_dir) if config.noise.musan_dir else self.out / "musan"
        self.features = self.out / "features"
        self.stage2 = self.out / "stage2"
        self.report = self.out / "report"
        self.needs_video = "AV" in config.stage2.systems
        extra = [t for t in config.stage2.train_types if t not in config.noise.types]
        self.feature_noise = dataclasses.replace(config.noise, types=(*config.noise.types, *extra))
        """The noise whose features are extracted: the tested types, then stage 2's extra
        training types (the same as ``noise`` without them)."""
        self.needs_musan = any(t in ("babble", "natural") for t in self.feature_noise.types)
        self._songs: list[Song] | None = None

    # --- settings each step depends on (cumulative: a change upstream reruns downstream) ---

    def _corpus_settings(self) -> dict[str, Any]:
        # the embedded corpus lives inside the run folder: its settings, not its path, identify it;
        # the default lip style is left out, so runs made before the option keep their fingerprint
        settings = to_dict(self.config.corpus)
        if settings.get("lips") == "crops":
            del settings["lips"]
        return settings

    def _f0notes_settings(self) -> dict[str, Any]:
        from avsvt.f0notes import F0NOTE_GRID

        return {
            "corpus": self._corpus_settings(),
            "grid": {k: list(v) for k, v in F0NOTE_GRID.items()},
            "f0notes": to_dict(self.config.f0notes),
        }

    def _stage1_settings(self, modality: str) -> dict[str, Any]:
        stage = self.config.audio if modality == "audio" else self.config.video
        return {"corpus": self._corpus_settings(), "stage": _stage_fingerprint_settings(stage)}

    def _features_settings(self) -> dict[str, Any]:
        return {
            "audio": self._stage1_settings("audio"),
            "video": self._stage1_settings("video") if self.needs_video else None,
            "noise": to_dict(self.feature_noise),
            "features": to_dict(self.config.features),
        }

    def _stage2_settings(self) -> dict[str, Any]:
        stage2 = _stage_fingerprint_settings(self.config.stage2)
        stage2.pop("grid")
        return {"features": self._features_settings(), "stage2": stage2}

    @property
    def babble_dir(self) -> Path | None:
        """Babble clips (prepared MUSAN), when a noise type needs them."""
        return self.musan / "short-musan" / "babble" / "wav" if self.needs_musan else None

    @property
    def natural_dir(self) -> Path | None:
        """MUSAN's ``noise/`` folder, when a noise type needs it."""
        return self.musan / "noise" if self.needs_musan else None

    def songs(self) -> list[Song]:
        """Every song of the root (all splits), read once (after the corpus step made it)."""
        if self._songs is None:
            self._songs = load_songs(self.root)
        return self._songs

    # --- steps -------------------------------------------------------------------------------

    def steps(self) -> list[Step]:
        """The run's steps in order."""
        c = self.config
        steps = []
        if c.corpus.root is None:
            steps.append(Step("corpus", self._make_corpus, self._corpus_settings()))
        steps.append(Step("validate", self._validate, self._corpus_settings()))
        if c.f0notes.enabled:
            steps.append(Step("f0notes", self._fit_f0notes, self._f0notes_settings()))
        if self.needs_musan and c.noise.musan_dir is None:
            steps.append(Step("musan", self._make_musan, {"seed": c.noise.seed}))
        if c.noise.write_files:
            steps.append(
                Step(
                    "noise",
                    self._write_noise,
                    {"corpus": self._corpus_settings(), "noise": to_dict(c.noise)},
                )
            )
        steps.append(
            Step(
                "stage1-audio",
                lambda: self._stage1("audio"),
                self._stage1_settings("audio"),
                parallel=True,
                folders=(self.stage1_dir("audio"),),
            )
        )
        if self.needs_video:
            steps.append(
                Step(
                    "stage1-video",
                    lambda: self._stage1("video"),
                    self._stage1_settings("video"),
                    parallel=True,
                    folders=(self.stage1_dir("video"),),
                )
            )
        steps.append(
            Step(
                "features",
                self._features,
                self._features_settings(),
                folders=(self.features,),
            )
        )
        local = c.stage2.grid.backend == "local"
        steps.append(
            Step(
                "stage2",
                self._stage2,
                self._stage2_settings(),
                parallel=local,
                folders=(self.stage2,),
            )
        )
        steps.append(
            Step(
                "report",
                self._report,
                {"stage2": self._stage2_settings(), "report": to_dict(c.report)},
            )
        )
        return steps

    # --- checks before anything runs ----------------------------------------------------------

    def preflight(
        self, steps: list[Step], *, force: bool = False, source: str | None = None
    ) -> None:
        """Check what the steps about to run need, before any of them runs or clears anything.

        Their stage folders hold only what avsvt wrote; the stage-1 models they train build, with
        their pretrained weights (``hf_path``, ``checkpoint_path``); the stage-2 fusion builds; the
        device, Slurm's submitit, the corpus root and the MUSAN folders are there.

        Args:
            steps: The run's steps (:meth:`steps`).
            force: Every step will run.
            source: The config file errors name.

        Raises:
            OutputExistsError: A stage folder holds what avsvt did not write.
            ConfigError: A setting the steps cannot use, naming its key.
        """
        self.check_folders(steps, force=force)
        self.check_settings(steps, force=force, source=source)

    def check_folders(self, steps: list[Step], *, force: bool = False) -> None:
        """The stage folders of the steps about to run hold only what avsvt wrote (writes nothing).

        Raises:
            OutputExistsError: One holds what avsvt did not write, naming it.
        """
        for folder in stage_folders(pending_steps(steps, self.out / "steps", force=force)):
            check_stage_dir(folder)

    def check_settings(
        self, steps: list[Step], *, force: bool = False, source: str | None = None
    ) -> None:
        """The settings of the steps about to run work (the rest of :meth:`preflight`).

        Raises:
            ConfigError: A setting the steps cannot use, naming its key.
        """
        pending = pending_steps(steps, self.out / "steps", force=force)
        names = {step.name for step in pending}
        if not pending:
            return
        c = self.config
        if c.corpus.root is not None and not Path(c.corpus.root).is_dir():
            raise ConfigError(
                f"corpus.root: {c.corpus.root} is not a folder (give an N20EMv2 root)", path=source
            )
        if c.noise.musan_dir is not None and self.needs_musan:
            for needed in (self.babble_dir, self.natural_dir):
                assert needed is not None
                if names & {"noise", "features", "report"} and not needed.is_dir():
                    raise ConfigError(
                        f"noise.musan_dir: {c.noise.musan_dir} has no "
                        f"{needed.relative_to(self.musan)} folder (a MUSAN root prepared by "
                        "avsvt musan prepare)",
                        path=source,
                    )
        if c.device == "cuda" and names & {"stage1-audio", "stage1-video", "features", "stage2"}:
            import torch

            if not torch.cuda.is_available():
                raise ConfigError(
                    "device: cuda, but torch sees no CUDA device here; use auto or cpu",
                    path=source,
                )
        models = c.model_configs()
        for modality in ("audio", "video"):
            if f"stage1-{modality}" in names:
                _check_builds(models[modality], _weights_key(models[modality], modality), source)
        if "stage2" in names:
            _check_fusion(models["stage2"], source)  # the encoders come from stage 1
            if c.stage2.grid.backend == "slurm" and importlib.util.find_spec("submitit") is None:
                raise ConfigError(
                    "stage2.grid.backend: slurm needs the optional package submitit "
                    "(pip install 'avsvt[slurm]')",
                    path=source,
                )

    def _make_corpus(self) -> None:
        from avsvt.synth.corpus import synth_corpus

        c = self.config.corpus
        synth_corpus(
            self.root,
            n_songs=c.n_songs,
            seed=c.seed,
            preset=c.preset,
            workers=self.config.workers,
            progress=self.config.progress,
            lips=c.lips,
        )

    def _validate(self) -> None:
        problems = validate_root(self.root, need_video=self.needs_video)
        for problem in problems:
            if not problem.is_error:
                logger.warning("%s", problem)
        errors = [p for p in problems if p.is_error]
        if errors:
            raise DataError(
                f"{len(errors)} problem(s) in the corpus, first: {errors[0]} "
                f"(avsvt validate {self.root} lists them all)",
                path=self.root,
            )

    def _fit_f0notes(self) -> None:
        from avsvt.constants import SAMPLE_RATE
        from avsvt.data.audio import read_audio
        from avsvt.f0notes import f0_model_json, fit_f0_notes, transcribe_f0
        from avsvt.metrics import METRICS, mean_scores, score_notes

        valid, audio, total_s = [], [], 0.0
        for song in split_songs(self.songs(), "valid"):
            if total_s >= self.config.f0notes.max_valid_s:
                break
            valid.append(song)
            audio.append(read_audio(song.vocals_path))
            total_s += len(audio[-1]) / SAMPLE_RATE
        if not valid:
            raise DataError("the f0notes step needs validation songs", path=self.root)
        test = split_songs(self.songs(), "test")
        fit = fit_f0_notes(audio, [s.notes for s in valid])
        test_scores = mean_scores(
            [
                score_notes(list(s.notes), transcribe_f0(read_audio(s.vocals_path), fit.settings))
                for s in test
            ]
        )
        info = {
            "fitted_on": f"{self.root}: {len(valid)} valid songs, {total_s:.0f} s, clean vocals",
            "candidates": fit.n_candidates,
            "valid_f1": {m: getattr(fit.scores, m).f1 for m in METRICS},
            "test_f1": {m: getattr(test_scores, m).f1 for m in METRICS},
        }
        write_text_atomic(self.out / "f0notes" / "model.json", f0_model_json(fit.settings, info))
        logger.info(
            "f0 note tracker fitted on %d valid songs (COnPOff %.3f); test COnPOff %.3f",
            len(valid),
            fit.scores.COnPOff.f1,
            test_scores.COnPOff.f1,
        )

    def _make_musan(self) -> None:
        from avsvt.noise.library import synth_musan_library
        from avsvt.noise.musan import PrepareConfig, prepare_musan

        synth_musan_library(self.musan, seed=self.config.noise.seed, workers=self.config.workers)
        prepare_musan(
            self.musan,
            config=PrepareConfig(n_babble=(200, 40, 40)),
            workers=self.config.workers,
            progress=self.config.progress,
        )

    def _write_noise(self) -> None:
        from avsvt.noise.synthesis import synthesize_noise

        n = self.config.noise
        synthesize_noise(
            self.root,
            babble_dir=self.babble_dir,
            natural_dir=self.natural_dir,
            types=n.types,
            snrs_db=n.snrs_db,
            seed=n.seed,
            rule=n.rule,
            workers=self.config.workers,
            progress=self.config.progress,
        )

    def stage1_dir(self, modality: str) -> Path:
        """Folder of a stage-1 system (``audio`` or ``video``)."""
        return self.out / "stage1" / modality

    def _stage1(self, modality: str) -> None:
        stage = self.config.audio if modality == "audio" else self.config.video
        run_dir = shared_fresh_dir(self.stage1_dir(modality), self._stage1_settings(modality))
        train_stage1(
            self.songs(),
            modality,
            stage,
            run_dir,
            device=self.config.device,
            progress=self.config.progress,
        )

    def _features(self) -> None:
        from avsvt.recipes.systems import resolve_device

        extract_features(
            self.songs(),
            audio_model=self.stage1_dir("audio") / BEST,
            video_model=self.stage1_dir("video") / BEST if self.needs_video else None,
            features_dir=self.features,
            noise=self.feature_noise,
            config=self.config.features,
            babble_dir=self.babble_dir,
            natural_dir=self.natural_dir,
            device=resolve_device(self.config.device),
            progress=self.config.progress,
        )

    def jobs(self) -> list[Stage2Job]:
        """The stage-2 grid: every system in every condition."""
        songs = tuple(self.songs())
        return [
            Stage2Job(
                system=system,
                condition=condition,
                songs=songs,
                audio_model=self.stage1_dir("audio") / BEST,
                video_model=self.stage1_dir("video") / BEST if self.needs_video else None,
                features_dir=self.features,
                run_dir=job_dir(self.stage2, system, condition),
                config=self.config.stage2,
                device=self.config.device,
                threads=self.config.threads,
                train_conditions=train_conditions(condition, self.config.stage2.train_types),
            )
            for condition in conditions(self.config.noise)
            for system in self.config.stage2.systems
        ]

    def _stage2(self) -> None:
        from avsvt.recipes.grid import run_grid

        every_process = self.config.stage2.grid.backend == "local"  # see steps(): parallel
        (shared_fresh_dir if every_process else fresh_dir)(self.stage2, self._stage2_settings())
        run_grid(
            self.jobs(),
            self.config.stage2.grid,
            slurm_folder=self.out / "slurm",
            progress=self.config.progress,
        )

    def _report(self) -> None:
        from avsvt.evaluation import evaluate_notes
        from avsvt.noise.synthesis import NoiseMixer
        from avsvt.report import SystemRun, write_report

        test = split_songs(self.songs(), "test")
        references = {song.song_id: list(song.notes) for song in test}
        runs = []
        for job in self.jobs():
            predictions = read_job_predictions(job.run_dir, test)
            evaluation = evaluate_notes({s: (references[s], predictions[s]) for s in references})
            runs.append(SystemRun(job.system, job.condition, evaluation, predictions))
        noise = self.config.noise
        snr = (
            self.config.report.piano_snr_db
            if self.config.report.piano_snr_db is not None
            else min(noise.snrs_db)
        )
        piano = Condition(noise.types[0], snr) if noise.types else Condition()
        mixer = NoiseMixer(
            babble_dir=self.babble_dir,
            natural_dir=self.natural_dir,
            seed=noise.seed,
            rule=noise.rule,
            types=noise.types,
        )
        by_id = {song.song_id: song for song in test}

        def load_audio(song_id: str) -> Any:
            assert piano.noise_type is not None and piano.snr_db is not None
            return mixer.mixture(by_id[song_id], piano.noise_type, piano.snr_db)

        settings = (
            f"corpus {self.root} ({len(self.songs())} songs, {len(test)} in test); "
            f"noise {', '.join(noise.types)} at {list(noise.snrs_db)} dB + clean; "
            f"stage 1 presets audio {self.config.audio.preset}, video {self.config.video.preset}; "
            f"stage 2 {self.config.stage2.train.epochs} epochs"
        )
        write_report(
            self.report,
            runs,
            references=references,
            piano_songs=[s.song_id for s in test[: self.config.report.piano_songs]],
            piano_condition=piano,
            load_audio=load_audio if piano.noise_type else None,
            notes_text=settings,
        )


def _weights_key(config: ModelConfig, modality: str) -> str:
    """The run-config key of what a stage-1 model loads from outside (else its section)."""
    audio, video = config.audio_encoder, config.video_encoder
    if modality == "audio" and audio is not None and audio.kind == "hf_ssl":
        field = "hf_path" if audio.hf_path is not None else "hf_config"
        return f"audio.model.audio_encoder.{field}"
    if modality == "video" and video is not None and video.checkpoint_path is not None:
        return "video.model.video_encoder.checkpoint_path"
    return f"{modality}.model"


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _check_builds(config: ModelConfig, key: str, source: str | None) -> None:
    """Build the model of ``config`` as its stage will (weights loaded), then drop it.

    Raises:
        ConfigError: It does not build (a rejected checkpoint, a size torch refuses), naming
            ``key``.
    """
    import torch

    from avsvt.models import Transcriber

    try:
        with torch.random.fork_rng(devices=[]):  # the stage seeds itself; leave the RNG as it was
            Transcriber(config)
    except AvsvtError as exc:
        raise ConfigError(f"{key}: {exc}", path=source) from None
    except Exception as exc:  # noqa: BLE001 - torch and transformers raise many kinds
        raise ConfigError(
            f"{key}: the model does not build ({_one_line(exc)})", path=source
        ) from None


def _check_fusion(config: ModelConfig, source: str | None) -> None:
    """Build the stage-2 fusion (the part of the stage-2 model that is not from stage 1)."""
    from avsvt.models.fusion import build_fusion

    assert config.fusion is not None
    try:
        build_fusion(config.d_model, config.fusion)
    except Exception as exc:  # noqa: BLE001 - torch raises many kinds
        raise ConfigError(
            f"stage2.fusion: the fusion does not build ({_one_line(exc)})", path=source
        ) from None


def _older_run(folder: Path) -> bool:
    """A run folder of an avsvt that wrote no run record: its ``config.json`` is a run config's."""
    written = read_json_file(folder / "config.json")
    fields = {f.name for f in dataclasses.fields(RunConfig)}
    return (
        isinstance(written, dict)
        and set(written) <= fields
        and {"out_dir", "corpus", "stage2"} <= set(written)
    )


def run_pipeline(
    config: RunConfig, *, force: bool = False, source: str | Path | None = None
) -> Path:
    """Run (or finish) every step of a run; returns the report's ``index.html``.

    The run folder must be new, empty or an avsvt run; before any step runs,
    :meth:`Run.preflight` checks what the steps need. Under ``torchrun`` the training steps
    (stage 1, and stage 2 on the local backend) run as DistributedDataParallel over the
    processes; the other steps run on rank 0.

    Args:
        config: The run.
        force: Rerun steps already done.
        source: The config file (named by errors about its settings).

    Raises:
        OutputExistsError: ``out_dir`` (or a stage folder in it) holds what avsvt did not write.
        ConfigError: A setting the steps about to run cannot use.
    """
    import torch

    from avsvt.train.distributed import barrier, distributed, is_main_process

    if config.threads:
        torch.set_num_threads(config.threads)
    run = Run(config)
    steps = run.steps()
    with distributed(), contextlib.ExitStack() as stack:
        if is_main_process():
            # what can be checked before the lock makes the folder is, so a refused run leaves
            # no trace; the folders again under the lock, in case another run changed them
            check_run_folder(run.out, adopt=_older_run)
            run.preflight(steps, force=force, source=None if source is None else str(source))
            stack.enter_context(run_lock(run.out))  # one run per folder: a second one stops
            claim_run_folder(run.out, adopt=_older_run)
            run.check_folders(steps, force=force)
            text = json.dumps(to_dict(config), indent=2) + "\n"
            write_text_atomic(run.out / "config.json", text)
        else:  # one log, from rank 0
            logging.getLogger("avsvt").setLevel(logging.WARNING)
        barrier()  # the others start once rank 0 found nothing wrong
        run_steps(steps, run.out / "steps", force=force)
    return run.report / "index.html"
