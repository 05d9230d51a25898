"""``avsvt musan synth|prepare`` and ``avsvt noise synth``."""

from __future__ import annotations

import argparse
from pathlib import Path


def _cmd_musan_synth(args: argparse.Namespace) -> int:
    from avsvt.noise.library import synth_musan_library

    out = synth_musan_library(
        args.out, seed=args.seed, preset=args.preset, workers=args.workers, progress=True
    )
    print(f"{out}: synthetic MUSAN-style library ({args.preset} preset, seed {args.seed})")
    return 0


def _cmd_musan_prepare(args: argparse.Namespace) -> int:
    from avsvt.noise.musan import PrepareConfig, SlurmOptions, prepare_musan

    config = PrepareConfig(
        seed=args.seed,
        n_babble=tuple(args.n_babble),
        n_mix=args.n_mix,
        keep_short=args.keep_short,
    )
    slurm = SlurmOptions(
        partition=args.partition,
        timeout_min=args.slurm_timeout_min,
        cpus_per_task=args.slurm_cpus,
        mem_gb=args.slurm_mem_gb,
        array_parallelism=args.slurm_array_parallelism,
        log_dir=args.slurm_log_dir,
    )
    summary = prepare_musan(
        args.root,
        out=args.out,
        config=config,
        nshard=args.nshard,
        shard_id=args.shard_id,
        workers=args.workers,
        launcher=args.launcher,
        slurm=slurm,
    )
    state = "finished" if summary.finished else "waiting for other shards"
    print(
        f"{summary.out}: {summary.n_pieces} piece(s), {summary.n_babble} babble mixture(s); "
        f"{summary.n_shards_run} shard(s) run, {summary.n_shards_skipped} already done "
        f"(of {summary.n_shards}); {state}"
    )
    return 0


def _cmd_noise_synth(args: argparse.Namespace) -> int:
    from avsvt.noise.synthesis import synthesize_noise

    summary = synthesize_noise(
        args.root,
        babble_dir=args.babble,
        natural_dir=args.natural,
        types=args.types,
        snrs_db=args.snrs,
        seed=args.seed,
        rule=args.rule,
        subtype=args.subtype,
        file_format=args.format,
        workers=args.workers,
    )
    print(
        f"{args.root}: noisy data for {summary.n_songs} song(s) ({summary.n_written} written, "
        f"{summary.n_skipped} already done); {summary.n_clipped_files} of {summary.n_files} "
        f"file(s) clip (|x| > 1); report in {summary.summary_path}"
    )
    return 0


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``avsvt musan`` and ``avsvt noise``."""
    from avsvt.constants import NOISE_TYPES, SNRS_DB

    fmt = argparse.ArgumentDefaultsHelpFormatter
    musan = sub.add_parser(
        "musan", help="MUSAN: a synthetic library, and preparation", formatter_class=fmt
    )
    group = musan.add_subparsers(dest="musan_command", required=True, metavar="WHAT")
    p = group.add_parser(
        "synth", help="write a synthetic MUSAN-style library (16 kHz int16)", formatter_class=fmt
    )
    p.add_argument("out", type=Path, help="library root (gets speech/, music/, noise/)")
    p.add_argument("--seed", type=int, default=0, help="random seed: same seed, same bytes")
    p.add_argument("--preset", choices=["default", "tiny"], default="default", help="size")
    p.add_argument("--workers", type=int, default=1, help="processes")
    p.set_defaults(handler=_cmd_musan_synth)

    p = group.add_parser(
        "prepare",
        help="10-s pieces, speaker split, babble and frame counts (AV-HuBERT's musan_prepare)",
        formatter_class=fmt,
    )
    p.add_argument("root", type=Path, help="MUSAN root (speech/, music/, noise/)")
    p.add_argument("--out", type=Path, default=None, help="output (default: ROOT/short-musan)")
    p.add_argument("--nshard", type=int, default=None, help="shards (default: 4 per worker)")
    p.add_argument("--shard-id", type=int, default=None, help="run only this shard")
    p.add_argument("--workers", type=int, default=1, help="local processes")
    p.add_argument("--launcher", choices=["local", "slurm"], default="local", help="where")
    p.add_argument("--keep-short", action="store_true", help="also copy files <= 10 s")
    p.add_argument("--seed", type=int, default=0, help="speaker split and babble seed")
    p.add_argument(
        "--n-babble",
        type=int,
        nargs=3,
        default=[8000, 1000, 1000],
        metavar=("TRAIN", "VALID", "TEST"),
        help="babble mixtures per split",
    )
    p.add_argument("--n-mix", type=int, default=30, help="speech pieces per babble mixture")
    p.add_argument("--partition", default=None, help="Slurm partition")
    p.add_argument("--slurm-timeout-min", type=int, default=60, help="Slurm time limit")
    p.add_argument("--slurm-cpus", type=int, default=1, help="Slurm CPUs per task")
    p.add_argument("--slurm-mem-gb", type=float, default=4.0, help="Slurm memory per task")
    p.add_argument("--slurm-array-parallelism", type=int, default=100, help="Slurm tasks at once")
    p.add_argument("--slurm-log-dir", default=None, help="submitit logs (default: OUT/.shards)")
    p.set_defaults(handler=_cmd_musan_prepare)

    noise = sub.add_parser("noise", help="noisy versions of a corpus", formatter_class=fmt)
    group = noise.add_subparsers(dest="noise_command", required=True, metavar="WHAT")
    p = group.add_parser(
        "synth",
        help="write noise_data/<type>/SNR_<snr>dB.wav for every song",
        formatter_class=fmt,
    )
    p.add_argument("root", type=Path, help="N20EMv2 root")
    p.add_argument(
        "--babble", type=Path, default=None, help="babble clips (short-musan/babble/wav)"
    )
    p.add_argument("--natural", type=Path, default=None, help="MUSAN's noise/ folder")
    p.add_argument(
        "--types", nargs="+", choices=list(NOISE_TYPES), default=list(NOISE_TYPES), help="types"
    )
    p.add_argument("--snrs", nargs="+", type=int, default=list(SNRS_DB), help="SNRs in dB")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument(
        "--rule",
        choices=["reference", "rms"],
        default="reference",
        help="reference: mean-amplitude SNR, vocals attenuated; rms: AV-HuBERT's",
    )
    p.add_argument("--subtype", choices=["FLOAT", "PCM_16"], default="FLOAT", help="sample type")
    p.add_argument("--format", choices=["wav", "flac"], default="wav", help="file format")
    p.add_argument("--workers", type=int, default=1, help="processes")
    p.set_defaults(handler=_cmd_noise_synth)
