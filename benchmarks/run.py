"""One command regenerates the harness tables of BENCHMARKS.md.

    .venv/bin/python benchmarks/run.py [--quick]

Sections written (between <!-- harness:NAME --> markers): machine, real-singing accuracy of every
system on ../shared/data/vocadito (both annotators), and transcription speed and peak memory for
30 s, 10 min and 60 min inputs (basic-pitch as the speed baseline). --quick uses short inputs.
"""

from __future__ import annotations

import argparse
import datetime
from pathlib import Path

from avsvt.benchmarking import (
    accuracy_rows,
    accuracy_table,
    all_systems,
    machine_description,
    measure_in_subprocess,
    replace_section,
    speed_table,
    vocadito_inputs,
)

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short inputs (a smoke run)")
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    args = parser.parse_args()
    today = datetime.date.today().isoformat()
    command = "`.venv/bin/python benchmarks/run.py" + (" --quick`" if args.quick else "`")
    doc = args.out.read_text() if args.out.exists() else "# Benchmarks\n"
    doc = replace_section(
        doc, "machine", f"Harness run {today} with {command} on: {machine_description()}"
    )
    systems = all_systems()
    rows = accuracy_rows(systems, vocadito_inputs(SHARED))
    doc = replace_section(
        doc,
        "vocadito",
        "### Real singing: vocadito_1 (F1 %, mir_eval defaults)\n\n" + accuracy_table(rows),
    )
    durations = [10.0, 30.0] if args.quick else [30.0, 600.0, 3600.0]
    speed = [
        measure_in_subprocess(name, d)
        for d in durations
        for name in systems
        if not (name.startswith("pyin") and d > 600)
    ]  # pyin runs ~4x real time: capped
    doc = replace_section(
        doc,
        "speed",
        "### Transcription speed and peak memory\n\n"
        + speed_table(speed, baseline="basic-pitch 0.4.0 (ONNX)"),
    )
    args.out.write_text(doc)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
