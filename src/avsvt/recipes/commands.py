"""``avsvt run CONFIG [--set key=value ...]``: the whole pipeline from one config file."""

from __future__ import annotations

import argparse
from pathlib import Path


def _cmd_run(args: argparse.Namespace) -> int:
    from avsvt.config import config_recipe, load_config
    from avsvt.recipes.config import RunConfig

    if config_recipe(args.config) == "default-model":
        from avsvt.pitchnet.recipe import DefaultModelRun, run_default_model

        recipe = load_config(DefaultModelRun, args.config, args.set or ())
        path = run_default_model(recipe)
        print(f"default model: {path.resolve()}")
        return 0
    config = load_config(RunConfig, args.config, args.set or ())  # all checked, without torch
    from avsvt.recipes.pipeline import run_pipeline

    index = run_pipeline(config, force=args.force, source=args.config)
    results = index.parent / "results.md"
    if results.exists():
        print(results.read_text())
    print(f"report: {index.resolve()}")
    return 0


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``avsvt run``."""
    p = sub.add_parser(
        "run",
        help="run the whole pipeline (corpus, noise, stage 1, features, stage 2, report)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description=(
            "Run every step of a config, skipping those already done with the same settings; "
            "a killed run resumes where it stopped when run again."
        ),
    )
    p.add_argument("config", type=Path, help="YAML run config (e.g. configs/demo.yaml)")
    p.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="override a config value (dotted key, YAML value); repeatable",
    )
    p.add_argument("--force", action="store_true", help="rerun steps already done")
    p.set_defaults(handler=_cmd_run)
