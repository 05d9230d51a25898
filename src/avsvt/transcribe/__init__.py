"""Transcription of users' recordings: loading a model, whole-song inference, note files."""
