"""The embedded default data: a synthetic N20EMv2-style audio-visual singing corpus.

Melodies with phrase structure (:mod:`.melody`), a formant-filtered glottal voice that sings them
(:mod:`.voice`), an accompaniment that fits them (:mod:`.accomp`), lip videos that follow the
articulation (:mod:`.lips`), all written as an N20EMv2 root (:mod:`.corpus`).
"""
