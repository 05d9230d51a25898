"""Training recipes: utterances, datasets, the training loop, stages 1 and 2."""
