"""Data sources -> one Manifest -> one Split. Each step writes its file into the run folder."""
