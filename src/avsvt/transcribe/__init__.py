"""Transcription of users' recordings: chunked inference, stitching, note files."""
