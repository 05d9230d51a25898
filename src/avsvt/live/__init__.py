"""Live transcription: note events while the singer sings (issue 18).

* :mod:`avsvt.live.stream`: :class:`LiveTranscriber`, the streaming API (feed blocks, get events);
* :mod:`avsvt.live.frames`: audio blocks to f0 frames on the offline grid (YIN, the network);
* :mod:`avsvt.live.segmenter`: f0 frames to note events, the offline segmentation made incremental;
* :mod:`avsvt.live.events`: :class:`NoteEvent`;
* :mod:`avsvt.live.sources` and :mod:`avsvt.live.sinks`: where ``avsvt listen`` reads audio
  (file, raw PCM on stdin, microphone) and writes events (JSON lines, a MIDI port);
* :mod:`avsvt.live.commands`: ``avsvt listen``.
"""

from avsvt.live.events import NoteEvent
from avsvt.live.stream import LiveTranscriber

__all__ = ["LiveTranscriber", "NoteEvent"]
