"""``avsvt synth corpus|musan|preview``."""

from __future__ import annotations

import argparse
from pathlib import Path

from avsvt.constants import LIP_STYLES


def _cmd_corpus(args: argparse.Namespace) -> int:
    from avsvt.data.n20em import validate_root
    from avsvt.synth.corpus import synth_corpus

    root = synth_corpus(
        args.out,
        n_songs=args.songs,
        seed=args.seed,
        preset=args.preset,
        workers=args.workers,
        lips=args.lips,
    )
    errors = [p for p in validate_root(root) if p.is_error]
    print(f"{root}: synthetic N20EMv2 root, {'valid' if not errors else 'INVALID'}")
    return 1 if errors else 0


def _cmd_musan(args: argparse.Namespace) -> int:
    from avsvt.noise.library import synth_musan_library

    root = synth_musan_library(args.out, seed=args.seed, preset=args.preset, workers=args.workers)
    print(f"{root}: synthetic noise library in the MUSAN layout")
    return 0


def _cmd_preview(args: argparse.Namespace) -> int:
    from avsvt.synth.preview import write_preview

    print(f"preview written to {write_preview(args.root, args.song, args.output)}")
    return 0


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``avsvt synth``."""
    fmt = argparse.ArgumentDefaultsHelpFormatter
    synth = sub.add_parser(
        "synth", help="generate the embedded synthetic data", formatter_class=fmt
    )
    group = synth.add_subparsers(dest="synth_command", required=True, metavar="WHAT")
    p = group.add_parser(
        "corpus",
        help="a synthetic audio-visual singing corpus (N20EMv2 layout)",
        formatter_class=fmt,
    )
    p.add_argument("out", type=Path, help="output N20EMv2 root")
    p.add_argument(
        "--songs", type=int, default=None, help="number of songs (default: the preset's)"
    )
    p.add_argument("--seed", type=int, default=0, help="random seed: same seed, same bytes")
    p.add_argument("--preset", choices=["default", "tiny"], default="default", help="corpus size")
    p.add_argument("--workers", type=int, default=2, help="processes")
    p.add_argument(
        "--lips",
        choices=LIP_STYLES,
        default="crops",
        help="lip videos drawn as crops, rendered faces cut by the real front end, those faces "
        "with each singer's own articulation (faces-varied), through H.264 (faces-h264), or "
        "with syllables the lips do not make shown weakly or not at all (faces-weak)",
    )
    p.set_defaults(handler=_cmd_corpus)
    p = group.add_parser(
        "musan",
        help="a synthetic noise library in the MUSAN layout (as `avsvt musan synth`)",
        formatter_class=fmt,
    )
    p.add_argument("out", type=Path, help="output folder (speech/, music/, noise/)")
    p.add_argument("--seed", type=int, default=0, help="random seed: same seed, same bytes")
    p.add_argument("--preset", choices=["default", "tiny"], default="default", help="library size")
    p.add_argument("--workers", type=int, default=2, help="processes")
    p.set_defaults(handler=_cmd_musan)
    p = group.add_parser(
        "preview",
        help="spectrogram + notes + mouth opening + lip frames of a song",
        formatter_class=fmt,
    )
    p.add_argument("root", type=Path, help="N20EMv2 root")
    p.add_argument("song", help="song id")
    p.add_argument("-o", "--output", type=Path, required=True, help="output PNG")
    p.set_defaults(handler=_cmd_preview)
