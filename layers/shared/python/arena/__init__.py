"""Arena: trading competitions for exchanges (the shared layer's one importable package)."""
