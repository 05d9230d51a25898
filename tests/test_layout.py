"""The one output layout (issue 14 item 6), checked against the reference's numbers."""

import numpy as np

from avsvt import layout
from avsvt.decoding import FramePosteriors
from avsvt.testing import oracle_logits


def test_the_layout_is_the_reference_s():
    # reference-system.md 2.2 / fact 2: [0] onset, [1] offset, [2:7] octave, [7:20] pitch class
    assert (layout.ONSET, layout.OFFSET) == (0, 1)
    assert layout.OCTAVE == slice(2, 7) and layout.PITCH_CLASS == slice(7, 20)
    assert layout.N_OUTPUTS == 20
    parts = [[layout.ONSET], [layout.OFFSET], range(20)[layout.OCTAVE]]
    parts.append(range(20)[layout.PITCH_CLASS])
    assert sorted(i for part in parts for i in part) == list(range(20))  # a partition
    # label columns (reference 1.3): onset, offset-or-silence, octave class, pitch class
    columns = (layout.LABEL_ONSET, layout.LABEL_OFFSET, layout.LABEL_OCTAVE)
    assert (*columns, layout.LABEL_PITCH_CLASS, layout.N_LABEL_COLUMNS) == (0, 1, 2, 3, 4)


def test_the_oracle_and_the_decoder_read_the_reference_columns():
    labels = np.array([[1, 0, 3, 11], [0, 1, 4, 12], [0, 0, 0, 0]])
    logits = oracle_logits(labels)
    hot = [sorted(np.flatnonzero(row > 0).tolist()) for row in logits]
    # literal reference indices: onset 0, offset 1, octave c at 2 + c, pitch class c at 7 + c
    assert hot == [[0, 2 + 3, 7 + 11], [1, 2 + 4, 7 + 12], [2 + 0, 7 + 0]]
    post = FramePosteriors.from_logits(logits)
    assert post.octave.tolist() == [3, 4, 0] and post.pitch_class.tolist() == [11, 12, 0]
    assert (post.onset_prob > 0.5).tolist() == [True, False, False]
    assert (post.offset_prob > 0.5).tolist() == [False, True, False]


def test_the_layout_module_imports_no_torch():
    import subprocess
    import sys

    code = "import sys, avsvt.layout; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
