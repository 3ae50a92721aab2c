"""GPU checks (`pytest -m gpu` on a machine with CUDA or MPS): real synchronisation inside timed intervals, and
the trained-model paths on the accelerator. Skipped without one."""

from __future__ import annotations

import time

import pytest
import torch

from benchmarks.measure.latency import measure_predictor
from benchmarks.measure.timers import time_callable

ACCEL = [d for d, ok in (("cuda", torch.cuda.is_available()), ("mps", torch.backends.mps.is_available())) if ok]


@pytest.mark.gpu
@pytest.mark.parametrize("device", ACCEL or [pytest.param("cuda", marks=pytest.mark.skip(reason="no CUDA or MPS"))])
def test_timed_interval_includes_the_kernel(device):
    """An async GPU matmul chain takes measurably long only if the timer synchronises inside the interval."""
    a = torch.randn(2048, 2048, device=device)

    def work():
        x = a
        for _ in range(20):
            x = x @ a
        return x

    t = time_callable(work, device, warmup=2, iters=5, min_seconds=0.0)
    synced = []
    for _ in range(5):
        # reference: explicit synchronise around the same work, timed on the host
        getattr(torch, device).synchronize()
        t0 = time.perf_counter()
        work()
        getattr(torch, device).synchronize()
        synced.append((time.perf_counter() - t0) * 1e3)
    assert min(t.samples_ms) > 0.5 * min(synced)


@pytest.mark.gpu
@pytest.mark.parametrize("device", ACCEL or [pytest.param("cuda", marks=pytest.mark.skip(reason="no CUDA or MPS"))])
def test_classifier_latency_on_the_accelerator(device):
    import io

    from PIL import Image

    from classifier.network import build_network
    from classifier.predictor import Predictor

    config = {"imgsz": 64, "eval_crop_ratio": 1.0}
    norm = {"mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]}
    pred = Predictor(build_network("resnet18", 2), ["a", "b"], [0.5, 0.5], norm, config, device)
    buf = io.BytesIO()
    Image.new("RGB", (80, 80), "red").save(buf, format="PNG")
    recs = measure_predictor(
        pred,
        "classifier",
        [device],
        [1, 4],
        ["model", "end_to_end"],
        [buf.getvalue()] * 4,
        warmup=2,
        iters=5,
        min_seconds=0.1,
    )
    assert [r["status"] for r in recs] == ["ok"] * 4
    assert all(r["device"] == device and r["sync"] for r in recs)
