"""Whole-song evaluation through the inference engine (:mod:`avsvt.models.apply`).

As in the reference (section 3.1), each song is cut into its utterances, each utterance's frames
are appended in order with no overlap or trimming, frame k of a song is at ``k / fps``, and the
song is decoded once all its utterances are in. The batches are each song's own consecutive
utterances, exactly as ``avsvt transcribe`` runs a model, so the notes scored here are the notes
a user gets from the same checkpoint on the same song.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from avsvt.decoding import DecoderConfig, FramePosteriors, decode_notes
from avsvt.evaluation import Evaluation, evaluate_notes
from avsvt.models.apply import Batch, run_utterances, stitch
from avsvt.notes import Note
from avsvt.train.datasets import _SongUtterances

if TYPE_CHECKING:
    from avsvt.train.trainable import Trainable


@torch.no_grad()
def predict_songs(
    trainable: Trainable, data: _SongUtterances, *, batch_size: int = 8, progress: bool = False
) -> tuple[dict[str, np.ndarray], float]:
    """Run every song's utterances (per-song batches) and stitch the logits per song.

    Returns:
        ``{song_id: logits (T_song, 20)}`` and the mean loss per utterance (each batch's pooled
        loss weighted by its utterances).
    """
    from tqdm import tqdm

    forward_fn, loss_fn = trainable.forward, trainable.loss
    assert forward_fn is not None and loss_fn is not None
    device = next(trainable.module.parameters()).device
    trainable.module.eval()
    total_loss, n_utterances = 0.0, 0

    def forward(batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        nonlocal total_loss, n_utterances
        logits, lengths = forward_fn(trainable.module, batch)
        loss = loss_fn(logits.float(), lengths, batch.labels, batch.label_lengths)
        total_loss += float(loss) * len(batch.song_ids)
        n_utterances += len(batch.song_ids)
        return logits, lengths

    stitched = {}
    songs = data.song_items()
    for song_id, indices in tqdm(
        songs.items(), desc="evaluate", disable=not progress, leave=False, unit="song"
    ):
        items = [data[i] for i in indices]
        pieces = run_utterances(items, forward, batch_size=batch_size, device=device)
        stitched[song_id] = stitch(pieces, pieces[0].shape[1] if pieces else 0)
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
