"""The `--set` overrides that shrink a benchmark to seconds (1 epoch at 64 px, near-zero latency timing), shared by
the end-to-end tests; each adds what it checks on top. Importable from every test folder: pytest puts tests/ on
sys.path for tests/conftest.py."""

from __future__ import annotations

BASE = [
    "classifier.epochs=1",
    "classifier.batch=8",
    "classifier.imgsz=64",
    "detector.epochs=1",
    "detector.batch=8",
    "detector.imgsz=64",
    "latency.warmup=1",
    "latency.min_seconds=0.0",
]


def tiny(*extra: str, bootstrap: int = 100, iters: int = 2, batch_sizes: str = "[1]") -> list[str]:
    """BASE + bootstrap resamples, latency iterations and batch sizes + `extra` (later keys win)."""
    return [
        *BASE,
        f"latency.batch_sizes={batch_sizes}",
        f"latency.iters={iters}",
        f"metrics.bootstrap={bootstrap}",
        "metrics.permutations=99",  # the smallest p-value is then 0.01: enough to test the rules, 10x faster
        "metrics.self_check=20",  # the "How sure" simulations: a few, to exercise them, not to publish them
        *extra,
    ]


# the smallest config that loads: one folders source for both pipelines and a quick profile that changes a training
# key and a split key (for the config and CLI tests that check loading, profiles and overrides)
MINIMAL_CONFIG = """
name: t
classes: [a, b]
sources:
  f: {reader: folders, path: folders}
labels: {classifier: f, detector: f}
profiles:
  quick: {classifier: {epochs: 2}, split: {seed: 5}}
"""
