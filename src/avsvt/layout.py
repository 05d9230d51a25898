"""The one definition of the model's output layout and of the frame-label columns.

Model outputs are (..., 20) logits (reference-system.md 2.2)::

    [ONSET] onset | [OFFSET] offset-or-silence | [OCTAVE] 5 octave classes (4 = silence)
    | [PITCH_CLASS] 13 pitch classes (12 = silence)

Frame labels (:mod:`avsvt.labels`) are (T, 4) int64 rows, one column per head, in the same order.
The loss (:mod:`avsvt.train.losses`), the decoder (:mod:`avsvt.decoding`), the heads
(:mod:`avsvt.models.heads`) and the test oracle (:func:`avsvt.testing.oracle_logits`) all index
through these names. Torch-free on purpose: numpy code and configuration loading import it.
"""

from __future__ import annotations

from typing import Final

from avsvt.constants import N_OCTAVE_CLASSES, N_PITCH_CLASS_CLASSES

# --- model outputs (logits) --------------------------------------------------------------------
ONSET: Final = 0
"""Index of the onset logit."""
OFFSET: Final = 1
"""Index of the offset-or-silence logit."""
OCTAVE: Final = slice(OFFSET + 1, OFFSET + 1 + N_OCTAVE_CLASSES)
"""Octave-class logits, 2:7 (class ``c`` at ``OCTAVE.start + c``)."""
PITCH_CLASS: Final = slice(OCTAVE.stop, OCTAVE.stop + N_PITCH_CLASS_CLASSES)
"""Pitch-class logits, 7:20 (class ``c`` at ``PITCH_CLASS.start + c``)."""
N_OUTPUTS: Final[int] = PITCH_CLASS.stop
"""Width of the output layer (20)."""

# --- frame labels (LabelArray columns) ---------------------------------------------------------
LABEL_ONSET: Final = 0
"""1 on the one onset frame of each note."""
LABEL_OFFSET: Final = 1
"""1 on every frame outside a note and on each note's offset frame."""
LABEL_OCTAVE: Final = 2
"""Octave class 0..3, 4 on silence."""
LABEL_PITCH_CLASS: Final = 3
"""Pitch class 0..11, 12 on silence."""
N_LABEL_COLUMNS: Final = 4
