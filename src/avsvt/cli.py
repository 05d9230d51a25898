"""The ``avsvt`` command: a thin shell over the library. Heavy imports happen inside handlers."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import select
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

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
    "avsvt.live.commands",
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


# Commands whose finished work is kept and skipped by a rerun (the others only read).
RESUMABLE = frozenset({"run", "transcribe", "synth", "musan", "noise", "labels"})


class Terminated(BaseException):
    """SIGTERM, raised in the main thread so that cleanups run (temporary files, locks)."""


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    """Turn SIGTERM into :class:`Terminated` in this process (a forked worker just dies)."""
    pid = os.getpid()

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends it at once
        if os.getpid() != pid:  # a worker forked with this handler: die as it would have
            os.kill(os.getpid(), signal.SIGTERM)
            return
        raise Terminated

    def on_unraisable(info: Any) -> None:
        # Raised where Python swallows exceptions (an at-fork hook, a __del__): without this the
        # run would go on to its end. Arm the handler again and send the signal once more, to
        # be raised at the next safe point of the main thread.
        if isinstance(info.exc_value, Terminated) and os.getpid() == pid:
            with contextlib.suppress(ValueError):  # not in the main thread: the default ends it
                signal.signal(signal.SIGTERM, on_sigterm)
            # from another thread, a moment later: sent from here it would be raised (and
            # swallowed) in this hook again
            resend = threading.Timer(0.01, os.kill, (pid, signal.SIGTERM))
            resend.daemon = True
            resend.start()
            return
        previous_hook(info)

    try:
        previous = signal.signal(signal.SIGTERM, on_sigterm)
    except ValueError:  # not the main thread (main() called from a thread): leave it be
        yield
        return
    previous_hook = sys.unraisablehook
    sys.unraisablehook = on_unraisable
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        sys.unraisablehook = previous_hook


def _pipe_closed(stream: object) -> bool:
    """Whether ``stream`` is a pipe or socket whose reader has gone (``| head`` finished)."""
    try:
        fd = stream.fileno()  # type: ignore[attr-defined]
        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))
    except (AttributeError, OSError, ValueError):
        return False


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the exit's flush does not fail again."""
    with contextlib.suppress(AttributeError, OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _interrupted(command: str, what: str) -> None:
    _close_progress_bars()
    hint = "; rerun the same command to resume (finished work is kept)"
    print(f"avsvt: interrupted ({what}){hint if command in RESUMABLE else ''}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``avsvt`` command; returns the exit code.

    1 with one line on a user-data error; 130 (SIGINT) or 143 (SIGTERM) with one line saying how
    to resume; 141, silently, when the reader of the output went away (``avsvt ... | head``).
    """
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="avsvt: %(levelname)s: %(message)s",
        stream=sys.stderr,
        force=True,
    )
    handler: Handler = args.handler
    try:
        with _sigterm_raises():
            code = handler(args)
            sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's exit
            return code
    except BrokenPipeError as exc:
        if _pipe_closed(sys.stdout) or _pipe_closed(sys.stderr):  # as unix tools: quietly
            _silence_stdout()
            return 128 + signal.SIGPIPE
        _close_progress_bars()
        print(f"avsvt: error: {exc.strerror or exc}", file=sys.stderr)
        return 1
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
        _interrupted(args.command, "SIGINT")
        return 128 + signal.SIGINT
    except Terminated:
        _interrupted(args.command, "SIGTERM")
        return 128 + signal.SIGTERM


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
