"""What live transcription emits: note-on and note-off events."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from avsvt.notes import Note

EventKind = Literal["note_on", "note_off", "note_cancel"]


@dataclass(frozen=True)
class NoteEvent:
    """One decision of live transcription.

    Attributes:
        kind: ``note_on`` (the onset is decided and will not change; in early mode, a
            provisional onset), ``note_off`` (the note is final: onset, offset and pitch are
            what offline transcription gives) or ``note_cancel`` (early mode: the provisional
            note-on of that onset is withdrawn, no note starts there).
        onset_s: The note's onset (s from the start of the stream).
        pitch_midi: Fractional MIDI pitch: the median so far at ``note_on``, final at
            ``note_off``.
        time_s: Stream position (s of audio fed) when the event was decided.
        offset_s: The note's offset (``note_off`` only, else None).
    """

    kind: EventKind
    onset_s: float
    pitch_midi: float
    time_s: float
    offset_s: float | None = None

    @property
    def note(self) -> Note:
        """The final note of a ``note_off``.

        Raises:
            ValueError: On a ``note_on`` (its note is not finished).
        """
        if self.offset_s is None:
            raise ValueError(f"a {self.kind} carries no finished note")
        return Note(self.onset_s, self.offset_s, self.pitch_midi)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values: ``{"event", "onset_s", "pitch_midi", "time_s"[, "offset_s"]}``."""
        body: dict[str, Any] = {
            "event": self.kind,
            "onset_s": self.onset_s,
            "pitch_midi": self.pitch_midi,
            "time_s": self.time_s,
        }
        if self.offset_s is not None:
            body["offset_s"] = self.offset_s
        return body
