"""A pipeline that trains instantly, for harness tests (tests/harness/test_harness_*.py).

It implements the registry's API (benchmarks/registry/pipelines.py: CONFIG, fit, load) without learning anything: `fit`
writes the artifact files the harness reads (config.json, training.json, history.csv, thresholds.json) and records
each call in `CALLS`; `load` returns a predictor whose scores are a fixed function of the image path (deterministic,
and carry no information about the labels unless the test sets `SCORES`). Tests steer it through module globals:

    CALLS                 one dict per fit() call (out_dir, train ids, config)
    FAIL                  {job key (e.g. "classifier/f0.5-s0"): exception to raise, once} (popped when raised)
    SCORES                None (uninformative scores) or a function (paths, classes) -> (N, C) array

and, for a run in another process (the stop-signal test), $FAKE_PIPELINE_BLOCK = a job key: that job's fit writes
`<job>/training_started`, then reads an endless DataLoader with two worker processes, as a real training does, until
a signal stops the process; $FAKE_PIPELINE_PAUSE = a job key: that job's fit writes `<job>/training_started`, then
waits until the test writes `<job>/go` (the tracking-outage test kills the server in between).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

CALLS: list[dict] = []
FAIL: dict[str, BaseException] = {}
SCORES = None


def reset() -> None:
    global SCORES
    CALLS.clear()
    FAIL.clear()
    SCORES = None


@dataclass
class FakeConfig:
    epochs: int = 4
    batch: int = 4
    seed: int = 0
    device: str = "cpu"
    imgsz: int = 16
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> FakeConfig:
        return cls(**d)


CONFIG = FakeConfig


def fit(train, val, classes, cfg: FakeConfig, out_dir, *, progress=True, tracking_uri=None, mlflow_run_id=None,
        resume=False):  # fmt: skip
    out = Path(out_dir)
    CALLS.append({"out_dir": str(out), "train": [s["id"] for s in train], "config": cfg.to_dict(), "resume": resume})
    key = f"{out.parent.parent.name}/{out.parent.name}"
    exc = FAIL.pop(key, None)
    if exc is not None:
        raise exc
    if os.environ.get("FAKE_PIPELINE_BLOCK") == key:
        _train_until_stopped(out)
    if os.environ.get("FAKE_PIPELINE_PAUSE") == key:
        _pause(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps({"classes": list(classes), "config": cfg.to_dict()}))
    (out / "training.json").write_text(json.dumps({"train_wall_s": 0.01, "epochs_run": cfg.epochs}))
    rows = "\n".join(f"{e},{0.1 * e:.2f}" for e in range(cfg.epochs))
    (out / "history.csv").write_text("epoch,val/loss\n" + rows + "\n")
    (out / "thresholds.json").write_text(json.dumps({"thresholds": [0.5] * len(classes), "method": "default"}))
    (out / "weights.pt").write_bytes(b"w" * 1000)  # what a curve point deletes once scored (curve.keep_weights)
    return out


class _Slow(torch.utils.data.Dataset):
    def __len__(self) -> int:
        return 10**6

    def __getitem__(self, i):
        time.sleep(0.02)
        return torch.zeros(1)


def _train_until_stopped(out: Path) -> None:
    (out.parent / "training_started").write_text(str(os.getpid()))
    for _ in torch.utils.data.DataLoader(_Slow(), batch_size=2, num_workers=2):
        pass


def _pause(out: Path) -> None:
    (out.parent / "training_started").write_text(str(os.getpid()))
    deadline = time.monotonic() + 120  # a guard against a test that never says go
    while not (out.parent / "go").exists() and time.monotonic() < deadline:
        time.sleep(0.05)


def _uninformative(paths: list[str], n_classes: int) -> np.ndarray:
    """Scores from a hash of the file name: deterministic, unrelated to the image content and its labels."""
    rows = []
    for p in paths:
        seed = int(hashlib.sha256(Path(p).name.encode()).hexdigest()[:8], 16)
        rows.append(np.random.default_rng(seed).uniform(0.0, 1.0, n_classes))
    return np.asarray(rows, dtype=np.float32).reshape(len(paths), n_classes)


class FakePredictor:
    def __init__(self, artifact: Path, device: str = "cpu"):
        self.artifact = Path(artifact)
        if not (self.artifact / "weights.pt").is_file():  # as a real predictor: nothing to load without weights
            raise FileNotFoundError(f"{self.artifact / 'weights.pt'} is missing")
        self.classes = json.loads((self.artifact / "config.json").read_text())["classes"]
        self.thresholds = np.asarray(json.loads((self.artifact / "thresholds.json").read_text())["thresholds"])
        self.imgsz, self.device = 16, device
        torch.manual_seed(0)
        self.model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 16 * 16, len(self.classes))).eval()

    def predict_scores(self, paths: list[str]) -> np.ndarray:
        if SCORES is not None:
            return np.asarray(SCORES(list(paths), self.classes), dtype=np.float32)
        return _uninformative(list(paths), len(self.classes))

    def preprocess(self, images: list) -> torch.Tensor:
        return torch.zeros(len(images), 3, 16, 16)

    def example_input(self, batch_size: int = 1) -> torch.Tensor:
        return torch.zeros(batch_size, 3, 16, 16)

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.model(batch)

    def end_to_end(self, encoded: list[bytes]) -> np.ndarray:
        return self.forward(self.example_input(len(encoded))).sigmoid().numpy() >= self.thresholds

    def scores_encoded(self, data: bytes, name: str = "<bytes>") -> tuple[np.ndarray, None]:
        """The scores predict_scores gives the file `name` (a function of its name), no boxes."""
        return self.predict_scores([name])[0], None

    def save_thresholds(self, thresholds, method: str = "tuned on val") -> None:
        self.thresholds = np.asarray(thresholds, dtype=np.float32)
        doc = {"thresholds": [float(t) for t in self.thresholds], "method": method}
        (self.artifact / "thresholds.json").write_text(json.dumps(doc))


def load(artifact_dir, device: str = "cpu") -> FakePredictor:
    return FakePredictor(Path(artifact_dir), device)


# --- setting up a benchmark on it ---------------------------------------------------------------------------------
CLASSES = ["a", "b", "c"]


def use_fake(monkeypatch) -> None:
    """Both registered pipelines (their config sections are fixed: classifier, detector) run this module."""
    from dataclasses import replace

    from benchmarks.registry import pipelines

    reset()
    for name, p in list(pipelines.PIPELINES.items()):
        monkeypatch.setitem(pipelines.PIPELINES, name, replace(p, module=__name__))


def no_plots(results: dict, out_dir) -> dict[str, str]:
    """report.plots.render_plots' answer when no plot is drawn: each plot's reason (the `fake` fixture's default)."""
    from benchmarks.report.plots import PLOTS

    return {name: "not drawn in the fake-pipeline tests" for name in PLOTS}


def oracle(labels: list[list[int]]):
    """SCORES that know the labels (image imNNN.png -> row NNN), a little noise: a model that beats the baseline."""

    def scores(paths, classes):
        rows = [labels[int(Path(p).stem[2:])] for p in paths]
        noise = _uninformative(paths, len(classes)) * 0.2
        return np.asarray(rows, dtype=np.float32) * 0.8 + noise

    return scores


def random_labels(n: int, seed: int = 0) -> list[list[int]]:
    """Labels independent of the pixels, each class positive and negative often enough to stay in macro AP."""
    rng = np.random.default_rng(seed)
    return [[int(v) for v in row] for row in (rng.uniform(size=(n, len(CLASSES))) < 0.4)]


_STORE: list[Path] = []  # a migrated empty sqlite MLflow store, made once per process


def mlflow_store(root: Path) -> str:
    """A fresh sqlite MLflow store in `root`: a copy of one migrated once (migrating a new one takes ~8 s)."""
    import shutil
    import tempfile

    if not _STORE:
        from benchmarks.tracking import client_for

        db = Path(tempfile.mkdtemp(prefix="clsdet-fake-store-")) / "mlflow.db"
        client_for(f"sqlite:///{db}").search_experiments()  # creates and migrates the schema
        _STORE.append(db)
    shutil.copyfile(_STORE[0], Path(root) / "mlflow.db")
    return f"sqlite:///{Path(root) / 'mlflow.db'}"


def make_bench(root: Path, labels: list[list[int]], fractions=(0.25, 0.5, 1.0), seeds=(0,), overrides=None, splits=()):
    """A labels_txt dataset of small noise PNGs with `labels` (one row per image) and a config whose two candidates
    both train on it with the fake pipeline; returns the loaded BenchConfig. Call use_fake() first."""
    from PIL import Image

    from benchmarks.config import load_config

    img = Path(root) / "images"
    img.mkdir(parents=True)
    rng = np.random.default_rng(1)
    lines = ["# image " + " ".join(CLASSES)]
    for i, row in enumerate(labels):
        Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(img / f"im{i:03d}.png")
        lines.append(f"im{i:03d}.png " + " ".join(str(v) for v in row))
    (img / "labels.txt").write_text("\n".join(lines) + "\n")
    config = {
        "name": "fake",
        "classes": CLASSES,
        "sources": {"t": {"reader": "labels_txt", "path": "images/labels.txt", "images": "images"}},
        "labels": {"classifier": "t", "detector": "t", "truth": "t"},
        "split": {"train": 0.5, "val": 0.25, "test": 0.25, "seed": 0},
        "classifier": {"epochs": 4, "batch": 4},
        "detector": {"epochs": 4, "batch": 4},
        "curve": {"fractions": list(fractions), "seeds": list(seeds), "splits": list(splits)},
        # the throughput sweep and the timer check cost ~9 s a run and are tested on real models (test_bench_e2e.py,
        # tests/measure): off here, where the harness around the pipeline is under test
        "latency": {
            "batch_sizes": [1],
            "warmup": 0,
            "iters": 2,
            "min_seconds": 0.0,
            "scopes": ["model"],
            "throughput": False,
            "timer_check": False,
        },
        "metrics": {"bootstrap": 30, "permutations": 99, "self_check": 20},
        "mlflow": {"tracking_uri": mlflow_store(root)},
        "labeling": {"log_dir": str(Path(root) / "no_logs")},
    }
    (Path(root) / "bench.yaml").write_text(json.dumps(config))
    return load_config(Path(root) / "bench.yaml", overrides=overrides)


def job_specs(run_dir: Path) -> dict[str, dict]:
    """{job key: job.json} of a run."""
    return {
        f"{f.parent.parent.name}/{f.parent.name}": json.loads(f.read_text())
        for f in sorted((Path(run_dir) / "jobs").glob("*/*/job.json"))
    }
