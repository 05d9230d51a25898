"""Noisy data: MUSAN preparation, a synthetic MUSAN-style library, and noisy vocals.

- :mod:`.mixing`: the SNR rules (the reference's mean-amplitude rule and AV-HuBERT's RMS rule)
  and SNR measurement.
- :mod:`.library`: a synthetic MUSAN-style library (speech, music, noise) for tests and demos.
- :mod:`.musan`: MUSAN preparation (10-s pieces, speaker split, babble, frame counts), sharded.
- :mod:`.synthesis`: the four noise types at five SNRs per song (``noise_data/``) and in-memory
  mixing of any condition.
"""
