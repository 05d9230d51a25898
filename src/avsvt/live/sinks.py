"""Where ``avsvt listen`` sends note events: JSON lines, and a MIDI output port.

A JSON line per event (:meth:`avsvt.live.events.NoteEvent.to_dict`), flushed at once so that a
reader downstream of a pipe sees each event when it is decided::

    {"event": "note_on", "onset_s": 0.61, "pitch_midi": 62.04, "time_s": 0.74}
    {"event": "note_off", "onset_s": 0.61, "pitch_midi": 62.1, "time_s": 1.32, "offset_s": 1.12}

The MIDI port (through ``mido`` with its ``python-rtmidi`` backend, when both are installed)
plays each note-on as the nearest MIDI key and releases that key at the note's note-off (or, for
a provisional note-on of ``--early``, at its note-cancel).
"""

from __future__ import annotations

import importlib
import json
from typing import Any, TextIO

from avsvt.errors import AvsvtError
from avsvt.live.events import NoteEvent

MIDI_VELOCITY = 100
"""Velocity of the notes sent to a MIDI port."""


class JsonLines:
    """Events as JSON lines on a text stream (module docstring)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def send(self, event: NoteEvent) -> None:
        """Write one event and flush."""
        self.stream.write(json.dumps(event.to_dict()) + "\n")
        self.stream.flush()

    def close(self) -> None:
        """Nothing to release."""


def midi_key(pitch_midi: float) -> int:
    """The MIDI key (0-127) nearest a fractional pitch."""
    return min(127, max(0, int(round(pitch_midi))))


class MidiPort:
    """Events played on a MIDI output port (module docstring).

    Args:
        name: The port's name (a prefix is enough; None: the first port), or the name of a new
            virtual port when ``virtual``.
        virtual: Create a virtual port others can connect to (where the platform allows:
            ALSA, CoreMIDI).
        channel: MIDI channel 0-15.

    Raises:
        AvsvtError: mido or python-rtmidi missing, or no such port (one line naming the ports).
    """

    def __init__(self, name: str | None, *, virtual: bool = False, channel: int = 0) -> None:
        try:
            mido: Any = importlib.import_module("mido")
            importlib.import_module("rtmidi")  # mido's backend: fail here, not at the first note
        except ImportError:
            raise AvsvtError(
                "MIDI output needs mido and python-rtmidi (pip install mido python-rtmidi)"
            ) from None
        self._mido: Any = mido
        self.channel = channel
        self._keys: dict[float, int] = {}  # onset -> the key sounding for it
        try:
            if virtual:
                self._port: Any = mido.open_output(name or "avsvt", virtual=True)
            else:
                names = list(mido.get_output_names())
                match = [n for n in names if name is None or n == name or n.startswith(name)]
                if not match:
                    available = ", ".join(names) or "none"
                    raise AvsvtError(
                        f"no MIDI output port {name!r} (available: {available}; "
                        "--midi-virtual makes one)"
                    )
                self._port = mido.open_output(match[0])
        except (OSError, RuntimeError, SystemError) as exc:  # rtmidi's errors, e.g. no ALSA
            raise AvsvtError(f"cannot open a MIDI output port ({exc})") from None

    def send(self, event: NoteEvent) -> None:
        """Play a note-on, or release the key of its note-off (or note-cancel)."""
        if event.kind == "note_on":
            key = self._keys[event.onset_s] = midi_key(event.pitch_midi)
            message = "note_on"
            velocity = MIDI_VELOCITY
        else:
            key = self._keys.pop(event.onset_s, midi_key(event.pitch_midi))
            message, velocity = "note_off", 0
        self._port.send(
            self._mido.Message(message, note=key, velocity=velocity, channel=self.channel)
        )

    def close(self) -> None:
        """Release every key still down and close the port."""
        for key in self._keys.values():
            self._port.send(self._mido.Message("note_off", note=key, channel=self.channel))
        self._keys.clear()
        self._port.close()
