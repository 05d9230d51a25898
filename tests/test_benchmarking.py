from avsvt.benchmarking import (
    BUILT_IN,
    accuracy_rows,
    accuracy_table,
    all_systems,
    measure_in_subprocess,
    replace_section,
    speed_table,
)
from avsvt.notes import Note
from avsvt.testing import synth_vocal

NOTES = [Note(0.2, 0.7, 60), Note(0.8, 1.4, 64)]


def test_accuracy_table_has_a_row_per_system_and_reference():
    audio = synth_vocal(NOTES, 24000)
    rows = accuracy_rows(all_systems(), {"clip": (audio, {"A1": NOTES, "A2": NOTES[:1]})})
    assert len(rows) == 6  # ours and two peers, two references each
    table = accuracy_table(rows).splitlines()
    assert len(table) == 2 + 6 and table[0].count("|") == 8
    assert all(row.real_time_factor > 0 for row in rows)
    ours = [row for row in rows if row.system == BUILT_IN]
    assert ours[0].scores.COnPOff.f1 == 1.0  # clean harmonic tones: every note exact


def test_speed_is_measured_in_a_subprocess_and_compared_with_the_baseline():
    row = measure_in_subprocess("basic-pitch 0.4.0 (ONNX)", 3.0)
    assert row.seconds > 0 and row.peak_rss_mb > 50
    ours = measure_in_subprocess(BUILT_IN, 3.0)
    table = speed_table([row, ours], baseline="basic-pitch 0.4.0 (ONNX)")
    assert table.splitlines()[-2].endswith("| 1.00 |")
    assert f"{row.seconds / ours.seconds:.2f}" in table.splitlines()[-1]


def test_sections_are_replaced_in_place():
    doc = "# B\n\nhand text\n"
    doc = replace_section(doc, "x", "one")
    doc = replace_section(doc, "x", "two")
    assert "one" not in doc and "two" in doc and "hand text" in doc
    assert doc.count("<!-- harness:x -->") == 1
