"""File formats at the edges: audio, video, the N20EMv2 layout, atomic writes."""
