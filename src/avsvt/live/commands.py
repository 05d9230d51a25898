"""``avsvt listen``: live transcription of a file, raw PCM on stdin, or a microphone."""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from avsvt.errors import ConfigError, DataError

logger = logging.getLogger(__name__)

DEFAULT_NAME = "live"
"""Stem of the note files of a stream without a file name (stdin, microphone)."""


def _source(args: argparse.Namespace) -> tuple[Iterator[npt.NDArray[np.float32]], str]:
    """The blocks to transcribe and the stem of the note files."""
    from avsvt.live.sources import file_blocks, microphone_blocks, paced, pcm_blocks

    if args.mic:
        if args.source is not None:
            raise ConfigError("give a source or --mic, not both")
        return microphone_blocks(device=args.device, block_s=args.block_s), args.name
    if args.source is None:
        raise ConfigError("nothing to listen to: give a file, - (raw PCM on stdin) or --mic")
    if args.source == "-":
        if args.rate is None:
            raise ConfigError("raw PCM on stdin needs its sample rate (--rate HZ)")
        blocks = pcm_blocks(
            sys.stdin.buffer,
            rate_hz=args.rate,
            sample_format=args.pcm,
            channels=args.channels,
            block_s=args.block_s,
        )
        return blocks, args.name
    path = Path(args.source)
    from avsvt.data.files import require_file

    require_file(path)
    blocks = file_blocks(path, args.block_s)
    return (paced(blocks) if args.realtime else blocks), path.stem


def _sinks(args: argparse.Namespace) -> list[Any]:
    from avsvt.live.sinks import JsonLines, MidiPort

    sinks: list[Any] = [JsonLines(sys.stdout)]
    if args.midi_port is not None or args.midi_virtual is not None:
        virtual = args.midi_virtual is not None
        sinks.append(MidiPort(args.midi_virtual if virtual else args.midi_port, virtual=virtual))
    return sinks


def _cmd_listen(args: argparse.Namespace) -> int:
    from avsvt.data.lock import run_lock
    from avsvt.live.stream import LiveTranscriber, runs_live
    from avsvt.notes import Note
    from avsvt.transcribe.api import TranscriptionResult
    from avsvt.transcribe.outputs import check_overwrite, output_paths, write_outputs
    from avsvt.transcribe.predictor import F0_TRACKER_NAME, F0NoteTracker, load_predictor

    if args.model is not None and str(args.model) != F0_TRACKER_NAME:
        from avsvt.data.files import require_file

        require_file(args.model, missing="model file not found")
    blocks, stem = _source(args)
    paths: dict[str, Path] = {}
    with contextlib.ExitStack() as stack:
        if args.output is not None:
            args.output.mkdir(parents=True, exist_ok=True)
            stack.enter_context(run_lock(args.output))
            paths = output_paths(f"{stem}.live", args.output, args.format)
            check_overwrite(paths, overwrite=args.overwrite)
        predictor = load_predictor(args.model)
        if not isinstance(predictor, F0NoteTracker):
            import torch

            torch.set_num_threads(1)  # the network runs on small pieces: one core does them best
        if not runs_live(predictor):
            raise ConfigError(
                "a trained checkpoint runs offline only (avsvt transcribe --model); live "
                "transcription runs the f0 tracker (--model f0) and pitch-network models",
                path=args.model,
            )
        live = LiveTranscriber(
            predictor,
            lookahead_s=args.lookahead,
            update_s=args.update,
            input_rms=args.input_rms,
            early=args.early,
        )
        sinks = _sinks(args)
        for sink in sinks:
            stack.callback(sink.close)
        notes: list[Note] = []
        start = time.perf_counter()

        def send(events: list[Any]) -> None:
            for event in events:
                for sink in sinks:
                    sink.send(event)
                if event.kind == "note_off":
                    notes.append(event.note)

        try:
            for block in blocks:
                send(live.feed(block))
        except KeyboardInterrupt:
            if not args.mic:
                raise
            # Ctrl-C is how a microphone stream ends: finish it
        except DataError as exc:
            if exc.path is None:
                raise DataError(exc.message, path=args.source or "microphone") from None
            raise
        send(live.close())
        if paths:
            result = TranscriptionResult(
                notes=notes,
                duration_s=live.position_s,
                used_video=False,
                seconds=time.perf_counter() - start,
                messages=[f"live transcription (lookahead {live.lookahead_s:.3f} s)"],
            )
            write_outputs(result, paths, title=stem)
            logger.debug("%d notes -> %s", len(notes), ", ".join(str(p) for p in paths.values()))
    return 0


def _positive_s(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value <= 10:
        raise argparse.ArgumentTypeError(f"{text!r}: expected more than 0 and at most 10 s")
    return value


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``avsvt listen``."""
    from avsvt.live.sources import PCM_FORMATS
    from avsvt.transcribe.commands import add_note_file_arguments

    p = sub.add_parser(
        "listen",
        help="live transcription: note events (JSON lines) while the audio plays",
        description="Transcribe a stream as it comes: a file (as fast as possible, or at "
        "real-time pace with --realtime), raw PCM on stdin (-), or a microphone (--mic). Each "
        "note-on and note-off is a JSON line on stdout as soon as it is decided; --midi-port "
        "plays them; -o writes the notes as MIDI/CSV/JSON files at the end.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument(
        "source", nargs="?", help="an audio file, or - for raw PCM on stdin (with --rate)"
    )
    p.add_argument("--mic", action="store_true", help="listen to a microphone (sounddevice)")
    p.add_argument("--device", default=None, help="with --mic: input device name or number")
    p.add_argument(
        "--model",
        default=None,
        help="`f0` for the f0 note tracker (fastest, lowest latency; clean solo voice), an "
        "f0-notes model file (.json) or a pitch-network model file (default: the learned "
        "default model)",
    )
    p.add_argument("--realtime", action="store_true", help="play a file at real-time pace")
    p.add_argument(
        "--early",
        action="store_true",
        help="provisional note-ons, sooner (f0 tracker on vocadito_1: median 161 -> 129 ms, p95 "
        "300 -> 233 ms); one that no note keeps is withdrawn by a note_cancel line (the notes are "
        "the same)",
    )
    p.add_argument("--rate", type=int, default=None, help="sample rate of raw PCM on stdin (Hz)")
    p.add_argument("--pcm", choices=sorted(PCM_FORMATS), default="s16le", help="raw PCM format")
    p.add_argument("--channels", type=int, default=1, help="channels of raw PCM (averaged)")
    p.add_argument(
        "--block", dest="block_s", type=_positive_s, default=0.02, help="block length (s)"
    )
    p.add_argument(
        "--lookahead",
        type=float,
        default=None,
        help="learned model: audio awaited after a frame (s; default 0.23, where the frames "
        "equal offline transcription; less answers sooner, approximately)",
    )
    p.add_argument(
        "--update",
        type=_positive_s,
        default=0.08,
        help="learned model: how often the network runs (s; CPU against latency)",
    )
    p.add_argument(
        "--input-rms",
        type=float,
        default=None,
        help="learned model: the stream's RMS level if known (default: estimated as it goes)",
    )
    p.add_argument("--midi-port", default=None, help="also play the notes on this MIDI port")
    p.add_argument(
        "--midi-virtual",
        default=None,
        metavar="NAME",
        help="also play the notes on a new virtual MIDI port of this name",
    )
    add_note_file_arguments(p, output_help="write the notes here at the end")
    p.add_argument("--name", default=DEFAULT_NAME, help="stem of the note files of stdin or --mic")
    p.set_defaults(handler=_cmd_listen)
