"""The ``avsvt`` command: a thin shell over the library. Heavy imports happen inside handlers."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from avsvt.errors import AvsvtError

logger = logging.getLogger("avsvt")
Handler = Callable[[argparse.Namespace], int]

# Subpackages that add subcommands: each module defines
# ``add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None``
# whose parsers set ``handler`` to a function ``(args) -> int`` (heavy imports inside it).
COMMAND_MODULES: tuple[str, ...] = (
    # one line per subpackage, e.g. "avsvt.synth.commands",
    "avsvt.transcribe.commands",
    "avsvt.synth.commands",
    "avsvt.models.commands",
    "avsvt.noise.commands",
    "avsvt.recipes.commands",
)


def _cmd_validate(args: argparse.Namespace) -> int:
    from avsvt.data.n20em import validate_root

    problems = validate_root(args.root, need_video=not args.audio_only)
    for problem in problems:
        print(problem)
    n_errors = sum(p.is_error for p in problems)
    n_warnings = len(problems) - n_errors
    verdict = "invalid" if n_errors else "valid"
    print(f"{args.root}: {verdict} N20EMv2 root ({n_errors} error(s), {n_warnings} warning(s))")
    return 1 if n_errors else 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from avsvt.data.atomic import write_json_atomic
    from avsvt.evaluation import evaluate_paths, format_table

    result = evaluate_paths(
        args.ref, args.est, ref_format=args.ref_format, est_format=args.est_format
    )
    print(format_table(result))
    if args.json:
        write_json_atomic(args.json, result.to_dict())
        print(f"scores written to {args.json}")
    return 0


def _cmd_labels(args: argparse.Namespace) -> int:
    from avsvt.data.n20em import load_songs
    from avsvt.data.prepare import prepare_labels

    songs = load_songs(args.root)
    counts = prepare_labels(songs, overwrite=args.overwrite)
    print(f"labels: {counts.written} song(s) written, {counts.skipped} already done")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser of the ``avsvt`` command."""
    parser = argparse.ArgumentParser(
        prog="avsvt",
        description="Audio-visual singing voice transcription.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="show debug messages")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    fmt = argparse.ArgumentDefaultsHelpFormatter

    p = sub.add_parser(
        "validate", help="check an N20EMv2 root and report every problem", formatter_class=fmt
    )
    p.add_argument("root", type=Path, help="N20EMv2 root (holds annotations.json and data/)")
    p.add_argument("--audio-only", action="store_true", help="do not require video_50fps.npy")
    p.set_defaults(handler=_cmd_validate)

    note_formats = ["auto", "mid", "csv", "json", "csv-onset-offset-midi", "csv-onset-hz-duration"]
    p = sub.add_parser(
        "evaluate", help="score estimated notes against reference notes", formatter_class=fmt
    )
    p.add_argument("--ref", required=True, type=Path, help="reference note file or folder")
    p.add_argument(
        "--est", required=True, type=Path, help="estimated note file or folder (paired by stem)"
    )
    p.add_argument(
        "--json", type=Path, help="also write per-song and mean scores to this JSON file"
    )
    p.add_argument(
        "--ref-format", choices=note_formats, default="auto", help="reference file format"
    )
    p.add_argument(
        "--est-format", choices=note_formats, default="auto", help="estimate file format"
    )
    p.set_defaults(handler=_cmd_evaluate)

    p = sub.add_parser(
        "labels", help="write per-song frame label files into an N20EMv2 root", formatter_class=fmt
    )
    p.add_argument("root", type=Path, help="N20EMv2 root")
    p.add_argument("--overwrite", action="store_true", help="rewrite label files that exist")
    p.set_defaults(handler=_cmd_labels)

    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).add_commands(sub)
    return parser


def _close_progress_bars() -> None:
    """Close progress bars an error left open, so that the error is the last line printed."""
    from tqdm import tqdm

    for bar in list(getattr(tqdm, "_instances", ())):
        bar.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``avsvt`` command; returns the exit code (1 with one line on a user-data error)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="avsvt: %(levelname)s: %(message)s",
        stream=sys.stderr,
        force=True,
    )
    handler: Handler = args.handler
    try:
        return handler(args)
    except AvsvtError as exc:
        _close_progress_bars()
        print(f"avsvt: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # outside the atomic writers: e.g. making a folder on a full disk
        _close_progress_bars()
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"avsvt: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("avsvt: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
