"""Whole-song evaluation: utterances run in batches, stitched per song, decoded and scored.

As in the reference (section 3.1), each utterance's frames are appended in order with no overlap or
trimming, frame k of a song is at ``k / fps``, and the song is decoded once all its utterances are
in. Unlike the reference, utterances are batched (padding is masked away, so results equal batch
size 1 up to float rounding).
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

import numpy as np
import torch

from avsvt.decoding import DecoderConfig, FramePosteriors, decode_notes
from avsvt.evaluation import Evaluation, evaluate_notes
from avsvt.notes import Note
from avsvt.train.datasets import _SongUtterances, batches, collate

if TYPE_CHECKING:
    from avsvt.train.loop import Trainable


@torch.no_grad()
def predict_songs(
    trainable: Trainable, data: _SongUtterances, *, batch_size: int = 8, progress: bool = False
) -> tuple[dict[str, np.ndarray], float]:
    """Run every utterance and stitch the logits per song.

    Returns:
        ``{song_id: logits (T_song, 20)}`` and the mean loss per utterance.
    """
    from tqdm import tqdm

    assert trainable.forward is not None and trainable.loss is not None
    device = next(trainable.module.parameters()).device
    trainable.module.eval()
    pieces: dict[str, dict[int, np.ndarray]] = defaultdict(dict)
    total_loss, n_utterances = 0.0, 0
    order = list(range(len(data)))
    for idx in tqdm(
        list(batches(order, batch_size)),
        desc="evaluate",
        disable=not progress,
        leave=False,
        unit="batch",
    ):
        batch = collate([data[i] for i in idx]).to(device)
        logits, lengths = trainable.forward(trainable.module, batch)
        loss = trainable.loss(logits.float(), lengths, batch.labels, batch.label_lengths)
        total_loss += float(loss) * len(idx)
        n_utterances += len(idx)
        for row, (song_id, index) in enumerate(zip(batch.song_ids, batch.indices, strict=True)):
            pieces[song_id][index] = logits[row, : int(lengths[row])].float().cpu().numpy()
    stitched = {
        song_id: np.concatenate([parts[i] for i in sorted(parts)])
        for song_id, parts in pieces.items()
    }
    return stitched, total_loss / max(1, n_utterances)


def decode_songs(
    trainable: Trainable,
    data: _SongUtterances,
    *,
    batch_size: int = 8,
    decoder: DecoderConfig | None = None,
    progress: bool = False,
) -> tuple[dict[str, list[Note]], float]:
    """Decode whole songs of a dataset: ``{song_id: notes}`` and the mean utterance loss."""
    logits, loss = predict_songs(trainable, data, batch_size=batch_size, progress=progress)
    config = decoder or DecoderConfig(fps=trainable.fps)
    notes = {
        song_id: decode_notes(FramePosteriors.from_logits(song_logits), config)
        for song_id, song_logits in logits.items()
    }
    return notes, loss


def evaluate_dataset(
    trainable: Trainable,
    data: _SongUtterances,
    *,
    batch_size: int = 8,
    decoder: DecoderConfig | None = None,
    progress: bool = False,
) -> tuple[Evaluation, float]:
    """Score whole songs of a dataset: returns the evaluation and the mean utterance loss."""
    estimates, loss = decode_songs(
        trainable, data, batch_size=batch_size, decoder=decoder, progress=progress
    )
    references = {song.song_id: list(song.notes) for song in data.songs}
    pairs = {song_id: (references[song_id], notes) for song_id, notes in estimates.items()}
    return evaluate_notes(pairs), loss
