"""``avsvt transcribe``: many files, one model load, outputs beside the inputs or in ``-o``."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import stat
import sys
from pathlib import Path
from typing import Any

from avsvt.errors import AvsvtError, DataError

logger = logging.getLogger(__name__)


def note_file_formats(text: str) -> list[str]:
    """``--format``'s value: comma-separated note file formats (``midi`` is ``mid``)."""
    from avsvt.transcribe.outputs import FORMATS

    formats = [f.strip().lower().lstrip(".") for f in text.split(",") if f.strip()]
    formats = ["mid" if f == "midi" else f for f in formats]
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise argparse.ArgumentTypeError(f"formats must be among {', '.join(FORMATS)}")
    return formats


def add_note_file_arguments(parser: argparse.ArgumentParser, *, output_help: str) -> None:
    """``-o/--output``, ``--format`` and ``--overwrite``: where and how note files are written."""
    parser.add_argument("-o", "--output", type=Path, help=output_help)
    parser.add_argument(
        "--format",
        type=note_file_formats,
        default=["mid", "csv", "json"],
        help="comma-separated note file formats: mid, csv, json",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace existing note files")


def _model_identity(model: str | None) -> dict[str, Any] | str | None:
    """The model part of a request: the f0 tracker by name, else the file's identity."""
    from avsvt.transcribe.outputs import file_identity
    from avsvt.transcribe.predictor import DEFAULT_MODEL, F0_TRACKER_NAME

    if model is not None and str(model) == F0_TRACKER_NAME:
        return F0_TRACKER_NAME
    return file_identity(DEFAULT_MODEL if model is None else model)


def _request(args: argparse.Namespace, audio_path: Path, paths: dict[str, Path]) -> dict[str, Any]:
    """What one input's outputs depend on: a rerun with the same request may skip or finish it."""
    from avsvt.transcribe.outputs import file_identity

    return {
        "audio": file_identity(audio_path),
        "video": file_identity(args.video),
        "model": _model_identity(args.model),
        "f0_pitch": bool(args.f0_pitch),
        "enhance": bool(args.enhance),
        "outputs": sorted(p.name for p in paths.values()),
    }


def _refuse_shared_outputs(jobs: list[tuple[Path, dict[str, Path]]]) -> None:
    """Refuse, before any work, two inputs whose outputs would be the same files.

    ``a/song.wav b/song.wav -o out``, ``song.wav song.mp3``, one file given twice: the second
    would silently replace the first's results.
    """
    from avsvt.transcribe.outputs import record_path

    seen: dict[Path, Path] = {}
    for audio_path, paths in jobs:
        mine = [p.parent.resolve() / p.name for p in (*paths.values(), record_path(paths))]
        if clash := next((seen[key] for key in mine if key in seen), None):
            first = next(iter(paths.values()))
            raise AvsvtError(
                f"would write the same outputs as {clash} ({first.with_suffix('.*')}); "
                "transcribe one of them into another folder (-o)",
                path=audio_path,
            )
        seen.update(dict.fromkeys(mine, audio_path))


def _check_inputs(args: argparse.Namespace) -> tuple[list[Path], int]:
    """Say what each given path is when it cannot be used, before anything else is done.

    A model, video or output folder that cannot be used stops the command (every input needs
    it); an audio input that is not a file (missing, a folder, a FIFO, a link loop...) is
    reported on one line and the others are still transcribed.

    Returns:
        The usable audio inputs and the number reported.

    Raises:
        DataError: The model or video is not a regular file, or the output folder cannot be used.
    """
    from avsvt.data.files import not_a_file, require_file

    if args.model is not None and str(args.model) != "f0":
        require_file(args.model, missing="model file not found")
    if args.video is not None:
        require_file(args.video)
    if args.output is not None:
        try:
            if not stat.S_ISDIR(os.stat(args.output).st_mode):
                raise DataError("is not a folder (-o names the output folder)", path=args.output)
        except FileNotFoundError:
            pass  # made when the outputs are written
        except (OSError, ValueError):
            problem = not_a_file(args.output, missing="output folder cannot be made")
            message = problem or "cannot be used as the output folder"
            raise DataError(message, path=args.output) from None
    usable = []
    for audio_path in args.audio:
        if problem := not_a_file(audio_path):
            print(f"avsvt: error: {DataError(problem, path=audio_path)}", file=sys.stderr)
        else:
            usable.append(audio_path)
    return usable, len(args.audio) - len(usable)


def _cmd_transcribe(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from avsvt.data.lock import run_lock
    from avsvt.transcribe.api import transcribe_file
    from avsvt.transcribe.inputs import load_audio
    from avsvt.transcribe.outputs import output_paths, plan_outputs, write_outputs
    from avsvt.transcribe.predictor import load_predictor

    if args.video is not None and len(args.audio) != 1:
        raise AvsvtError("--video pairs with exactly one audio file")
    audio_paths, failures = _check_inputs(args)
    if not audio_paths:
        return 1
    jobs = []
    for audio_path in audio_paths:
        out_dir = args.output or audio_path.parent
        jobs.append((audio_path, output_paths(audio_path, out_dir, args.format, plot=args.plot)))
    _refuse_shared_outputs(jobs)
    with contextlib.ExitStack() as stack:
        # one transcription per output folder at a time, held from the checks to the last write
        folders = {
            next(iter(p.values())).parent.resolve(): next(iter(p.values())).parent for _, p in jobs
        }
        for key in sorted(folders):
            stack.enter_context(run_lock(folders[key]))
        todo = []
        for audio_path, paths in jobs:  # before loading any model
            plan = plan_outputs(paths, _request(args, audio_path, paths), overwrite=args.overwrite)
            if plan.done:
                print(
                    f"{audio_path.name}: already transcribed -> "
                    f"{', '.join(str(p) for p in paths.values())} (--overwrite redoes it)"
                )
            else:
                todo.append((audio_path, paths, plan))
        if not todo:
            return 1 if failures else 0
        predictor = load_predictor(args.model)
        for audio_path, paths, plan in tqdm(
            todo, desc="transcribe", unit="file", disable=len(todo) < 2
        ):
            try:
                result = transcribe_file(
                    audio_path,
                    args.video,
                    model=predictor,
                    f0_pitch=args.f0_pitch,
                    enhance=args.enhance,
                )
                audio = load_audio(audio_path) if "png" in paths else None  # the spectrogram
                write_outputs(result, paths, audio=audio, title=audio_path.name, record=plan.record)
            except AvsvtError as exc:
                failures += 1
                tqdm.write(f"avsvt: error: {exc}", file=sys.stderr)
                continue
            for message in result.messages:
                tqdm.write(f"{audio_path.name}: {message}")
            tqdm.write(
                f"{audio_path.name}: {len(result.notes)} notes, {result.duration_s:.1f} s of audio "
                f"in {result.seconds:.2f} s -> {', '.join(str(p) for p in paths.values())}"
            )
    if failures and len(args.audio) > 1:
        print(f"avsvt: {failures} of {len(args.audio)} file(s) failed", file=sys.stderr)
    return 1 if failures else 0


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``avsvt transcribe``."""
    p = sub.add_parser(
        "transcribe",
        help="transcribe singing (and optionally lip video) to MIDI/CSV/JSON notes",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument(
        "audio",
        nargs="+",
        type=Path,
        help="audio files (wav, flac, ogg, mp3) or videos whose audio track is used",
    )
    p.add_argument(
        "--video",
        type=Path,
        help="lip video of the singer (mp4/avi/mkv/mpg, or an N20EMv2 .npy of mouth crops)",
    )
    p.add_argument(
        "--model",
        default=None,
        help="`f0` for the built-in f0 note tracker (fastest; clean solo voice), a transcriber "
        "checkpoint from `avsvt run` (best.safetensors or last.pt of any stage, or the "
        "model.safetensors of configs/default-model.yaml) or an f0-notes model file (.json) "
        "(default: the learned default model shipped in the package, audio only)",
    )
    p.add_argument(
        "--f0-pitch",
        action="store_true",
        help="with --model: note pitch from the voice's f0 (fractional MIDI) instead of the "
        "model's integer pitch classes",
    )
    p.add_argument(
        "--enhance",
        action="store_true",
        help="clean the audio with DeepFilterNet3 first (speech enhancement, bundled): rescues "
        "the f0 tracker in noise and music (vocadito_1 COnPOff at 0 dB: white .12 -> .66, music "
        "about .05 -> .44); about 4-5x real time; can weaken long held notes",
    )
    add_note_file_arguments(p, output_help="output folder (default: beside each input)")
    p.add_argument(
        "--plot", action="store_true", help="also write a piano-roll PNG over the spectrogram"
    )
    p.set_defaults(handler=_cmd_transcribe)
