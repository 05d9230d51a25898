"""The main job: ``avsvt run CONFIG`` from an N20EMv2 root to the noise-robustness report."""
