"""The learned default transcriber: a harmonic pitch-salience network and its note decoding."""
