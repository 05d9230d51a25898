"""The noise-robustness report: results.json, tables, F1-vs-SNR figure, piano rolls, one HTML page.

``results.json`` is keyed system ("A", "AV") -> noise type -> SNR ("-10" ... "10", or "clean") ->
metric ("COnPOff", "COnP", "COn", "COff") -> song-averaged F1 in 0..1. The clean condition has no
noise type, so its scores are listed under every noise type (each curve then ends at "clean").
"""

from __future__ import annotations

import base64
import html
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from avsvt.data.atomic import write_json_atomic, write_text_atomic
from avsvt.evaluation import Evaluation
from avsvt.metrics import METRICS
from avsvt.notefiles import write_csv_notes, write_midi_notes
from avsvt.notes import Note
from avsvt.plots import plot_f1_vs_snr, plot_piano_roll

CLEAN = "clean"
Results = dict[str, dict[str, dict[str, dict[str, float]]]]


@dataclass(frozen=True)
class Condition:
    """A noise condition: a noise type at an SNR, or clean (``noise_type`` None)."""

    noise_type: str | None = None
    snr_db: int | None = None

    @property
    def name(self) -> str:
        """``clean`` or ``<type>_<snr>dB`` (used in folder names)."""
        return CLEAN if self.noise_type is None else f"{self.noise_type}_{self.snr_db}dB"

    @property
    def snr_key(self) -> str:
        """The results.json SNR key: ``"clean"`` or the SNR as a string."""
        return CLEAN if self.snr_db is None else str(self.snr_db)


@dataclass(frozen=True)
class SystemRun:
    """One system evaluated in one condition, with its per-song predictions."""

    system: str
    condition: Condition
    evaluation: Evaluation
    predictions: Mapping[str, Sequence[Note]]


def results_dict(runs: Sequence[SystemRun]) -> Results:
    """Song-averaged F1 keyed system -> noise type -> SNR -> metric (module docstring)."""
    noise_types = sorted({r.condition.noise_type for r in runs if r.condition.noise_type}) or [
        CLEAN
    ]
    results: Results = {}
    for run in runs:
        f1 = {m: getattr(run.evaluation.mean, m).f1 for m in METRICS}
        targets = [run.condition.noise_type] if run.condition.noise_type else noise_types
        for noise_type in targets:
            assert noise_type is not None
            results.setdefault(run.system, {}).setdefault(noise_type, {})[run.condition.snr_key] = (
                f1
            )
    for per_type in results.values():
        for noise_type, points in per_type.items():
            per_type[noise_type] = dict(sorted(points.items(), key=lambda kv: _snr_order(kv[0])))
    return results


_SNR_KEYS = ("-10", "-5", "0", "5", "10", CLEAN)
_PUBLISHED = {  # reference-system.md 8.3: F1 % read off the reference's figure (+-0.5, ~ +-1.5)
    "A": {
        "COnPOff": (14.4, 27.0, 46.6, 62.0, 71.0, 75.6),
        "COnP": (18.5, 37.8, 59.1, 71.5, 78.0, 80.7),
        "COn": (33.5, 61.4, 77.7, 87.0, 91.5, 93.5),
        "COff": (33.4, 60.3, 77.0, 86.0, 91.0, 93.3),
    },
    "AV": {
        "COnPOff": (16.4, 32.4, 50.4, 63.3, 70.9, 75.6),
        "COnP": (20.8, 41.0, 61.4, 72.5, 77.9, 80.7),
        "COn": (79.4, 80.1, 82.7, 88.3, 92.0, 93.8),
        "COff": (77.3, 78.1, 81.6, 87.4, 91.2, 93.3),
    },
}


def published_reference() -> Results:
    """The reference system's published accompaniment-noise results, as ``results.json``.

    N20EMv2 test split, wav2vec2-large-lv60 + AV-HuBERT large (reference-system.md 8.3): shown
    beside a run's results for comparison.
    """
    return {
        system: {
            "accomp": {
                key: {metric: values[i] / 100 for metric, values in metrics.items()}
                for i, key in enumerate(_SNR_KEYS)
            }
        }
        for system, metrics in _PUBLISHED.items()
    }


def _snr_order(key: str) -> float:
    return float("inf") if key == CLEAN else float(key)


def results_markdown(results: Results) -> str:
    """One markdown table per noise type: rows metric x system, columns SNRs then clean (F1 %)."""
    blocks = []
    noise_types = sorted({t for per_type in results.values() for t in per_type})
    for noise_type in noise_types:
        keys = sorted(
            {k for per in results.values() for k in per.get(noise_type, {})}, key=_snr_order
        )
        header = (
            "| metric | system | " + " | ".join(k if k == CLEAN else f"{k} dB" for k in keys) + " |"
        )
        lines = [f"**{noise_type}**", "", header, "|" + "---|" * (len(keys) + 2)]
        for metric in METRICS:
            for system, per_type in results.items():
                points = per_type.get(noise_type, {})
                cells = [f"{100 * points[k][metric]:.1f}" if k in points else "-" for k in keys]
                lines.append(f"| {metric} | {system} | " + " | ".join(cells) + " |")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def write_predictions(out_dir: Path, runs: Sequence[SystemRun]) -> None:
    """Per-song note files (CSV and MIDI) of every prediction: ``<system>/<condition>/<song>.*``."""
    for run in runs:
        folder = out_dir / run.system / run.condition.name
        for song_id, notes in run.predictions.items():
            write_csv_notes(folder / f"{song_id}.csv", notes)
            write_midi_notes(folder / f"{song_id}.mid", notes)


def _img(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _markdown_table_to_html(markdown: str) -> str:
    out = []
    for block in markdown.strip().split("\n\n"):
        lines = block.splitlines()
        if lines and lines[0].startswith("**"):
            out.append(f"<h3>{html.escape(lines[0].strip('*'))}</h3>")
            lines = lines[2:]
        rows = [line.strip("|").split("|") for line in lines if not line.startswith("|---")]
        if not rows:
            continue
        head = "".join(f"<th>{html.escape(c.strip())}</th>" for c in rows[0])
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(c.strip())}</td>" for c in row) + "</tr>"
            for row in rows[1:]
        )
        out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    return "\n".join(out)


def write_report(
    out_dir: str | Path,
    runs: Sequence[SystemRun],
    *,
    references: Mapping[str, Sequence[Note]],
    piano_songs: Sequence[str] = (),
    piano_condition: Condition | None = None,
    load_audio: Callable[[str], npt.NDArray[np.float32]] | None = None,
    title: str = "avsvt noise-robustness report",
    notes_text: str = "",
) -> Path:
    """Write results.json, results.md, f1_vs_snr.png, piano rolls, predictions and index.html.

    Args:
        out_dir: Report folder.
        runs: Every (system, condition) evaluation.
        references: Reference notes per song (for the piano rolls).
        piano_songs: Songs to draw as piano rolls (reference vs every system).
        piano_condition: Condition of the piano rolls (the hardest noisy one by default).
        load_audio: Returns a song's audio in that condition, drawn under the piano roll.
        title: Page title.
        notes_text: Extra HTML-escaped text shown under the title (e.g. run settings).

    Returns:
        The path of ``index.html``.
    """
    out = Path(out_dir)
    results = results_dict(runs)
    write_json_atomic(out / "results.json", results)
    table = results_markdown(results)
    write_text_atomic(out / "results.md", table)
    plot_f1_vs_snr(results, out / "f1_vs_snr.png", title="F1 against SNR (dotted: clean)")
    write_predictions(out / "predictions", runs)
    noisy = sorted(
        {r.condition for r in runs if r.condition.snr_db is not None},
        key=lambda c: (c.noise_type or "", c.snr_db or 0),
    )
    condition = piano_condition or (noisy[0] if noisy else Condition())
    pianos = []
    for song_id in piano_songs:
        notes: dict[str, Sequence[Note]] = {"reference": references[song_id]}
        for run in runs:
            if run.condition == condition and song_id in run.predictions:
                notes[run.system] = run.predictions[song_id]
        audio = load_audio(song_id) if load_audio else None
        png = out / f"piano_{song_id}_{condition.name}.png"
        plot_piano_roll(notes, png, audio=audio, title=f"{song_id}, {condition.name}")
        pianos.append(png)
    published = ""
    if any("accomp" in per_type for per_type in results.values()):
        published = results_markdown(published_reference())
    page = _html_page(title, notes_text, table, out / "f1_vs_snr.png", pianos, published)
    write_text_atomic(out / "index.html", page)
    return out / "index.html"


def _html_page(
    title: str,
    notes_text: str,
    table: str,
    figure: Path,
    pianos: list[Path],
    published: str = "",
) -> str:
    style = (
        "body{font-family:sans-serif;max-width:1200px;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;margin:0.5em 0 1.5em}"
        "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}img{max-width:100%}"
    )
    parts: list[Any] = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
        f"<style>{style}</style></head><body><h1>{html.escape(title)}</h1>",
        f"<p>{html.escape(notes_text)}</p>" if notes_text else "",
        "<h2>F1 against SNR</h2>",
        _img(figure, "F1 against SNR"),
        "<h2>Song-averaged F1 (%)</h2>",
        _markdown_table_to_html(table),
    ]
    if published:
        parts += [
            "<h2>For comparison: the reference system's published results (%)</h2>",
            "<p>N20EMv2 test split, accompaniment noise, wav2vec2-large-lv60 + AV-HuBERT large, "
            "values read off the reference's figure (about &plusmn;0.5; &plusmn;1.5 where the A "
            "marker hides under the AV one). Real data and pretrained encoders: compare the "
            "shape of the curves, not the numbers.</p>",
            _markdown_table_to_html(published),
        ]
    if pianos:
        parts.append("<h2>Piano rolls (reference vs systems)</h2>")
        parts += [_img(p, p.stem) for p in pianos]
    parts.append("</body></html>")
    return "\n".join(parts)
