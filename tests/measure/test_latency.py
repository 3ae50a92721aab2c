"""Latency measurement: method fields in every record, K and T respected, unavailable devices, OOM fallback,
statistics against numpy, and a real (untrained) classifier predictor end to end."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
import torch
from PIL import Image

from benchmarks.measure.latency import measure_predictor, resolve_devices
from benchmarks.measure.stats import summarize
from benchmarks.measure.timers import time_callable

METHOD_FIELDS = {
    "model", "machine_id", "hostname", "measured_utc", "device", "device_name", "dtype", "batch_size", "scope",
    "imgsz", "warmup", "iters", "min_seconds", "threads", "sync", "timer", "status", "error", "samples_ms",
}  # fmt: skip
STAT_FIELDS = {
    "latency_ms_p50", "latency_ms_p90", "latency_ms_p99", "latency_ms_mean", "latency_ms_std", "throughput_img_s",
}  # fmt: skip


def _png(size: int = 24, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


class FakePredictor:
    """The predictor interface of classifier.load()/detector.load(), around a tiny conv net on the CPU."""

    def __init__(self, device: str = "cpu", oom_above: int | None = None, imgsz: int = 16):
        self.model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())
        self.device, self.imgsz, self.oom_above = device, imgsz, oom_above
        self.e2e_batches: list[int] = []

    def example_input(self, batch_size: int = 1) -> torch.Tensor:
        return torch.randn(batch_size, 3, self.imgsz, self.imgsz)

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        if self.oom_above is not None and batch.shape[0] > self.oom_above:
            raise torch.OutOfMemoryError(f"CUDA out of memory (fake) at batch {batch.shape[0]}")
        with torch.inference_mode():
            return self.model(batch)

    def end_to_end(self, encoded: list[bytes]) -> np.ndarray:
        self.e2e_batches.append(len(encoded))
        imgs = [torch.from_numpy(np.array(Image.open(io.BytesIO(b)).convert("RGB").resize((16, 16)))) for b in encoded]
        x = torch.stack(imgs).permute(0, 3, 1, 2).float() / 255
        return (torch.sigmoid(self.forward(x)) >= 0.5).numpy()


def test_records_carry_method_and_respect_k_and_t():
    pred = FakePredictor()
    recs = measure_predictor(
        pred, "fake", ["cpu"], [1, 3], ["model", "end_to_end"], [_png(seed=i) for i in range(5)],
        warmup=2, iters=7, min_seconds=0.05, threads=1,
    )  # fmt: skip
    assert [(r["scope"], r["batch_size"]) for r in recs] == [("model", 1), ("model", 3), ("end_to_end", 1),
                                                             ("end_to_end", 3)]  # fmt: skip
    for r in recs:
        assert r["status"] == "ok", r["error"]
        assert r.keys() >= METHOD_FIELDS | STAT_FIELDS
        assert r["iters"] == len(r["samples_ms"]) >= 7
        assert sum(r["samples_ms"]) >= 50.0  # min_seconds=0.05
        assert r["threads"] == 1 and r["warmup"] == 2 and r["dtype"] == "float32" and r["imgsz"] == 16
        assert r["sync"].startswith("none") and r["timer"] == "time.perf_counter_ns"
        assert r["load_avg_1m"] is None or r["load_avg_1m"] >= 0
        assert r["throughput_img_s"] == pytest.approx(r["batch_size"] / (np.mean(r["samples_ms"]) / 1e3))
    assert set(pred.e2e_batches) == {1, 3}
    assert torch.get_num_threads() == 2  # restored (tests run with 2 threads, see tests/conftest.py)


def test_min_seconds_extends_a_fast_loop():
    calls = []
    t = time_callable(lambda: (calls.append(1), time.sleep(0.002)), "cpu", warmup=3, iters=2, min_seconds=0.1)
    assert len(t.samples_ms) >= 2 and sum(t.samples_ms) >= 100.0
    assert len(calls) == 3 + len(t.samples_ms)  # warm-up calls are not timed
    assert min(t.samples_ms) >= 2.0


def test_missing_devices_are_recorded_unavailable():
    present, unavailable = resolve_devices(["auto", "cpu", "cuda", "mps"])
    assert present[0] == "cpu" and present.count("cpu") == 1
    if torch.cuda.is_available() or torch.backends.mps.is_available():
        pytest.skip("this machine has an accelerator; the unavailable path needs one that is missing")
    assert present == ["cpu"] and unavailable == ["cuda", "mps"]
    recs = measure_predictor(FakePredictor(), "fake", ["cuda", "mps"], [1, 8], ["model"], [], iters=1, min_seconds=0)
    assert [(r["device"], r["batch_size"], r["status"]) for r in recs] == [
        ("cuda", 1, "unavailable"), ("cuda", 8, "unavailable"), ("mps", 1, "unavailable"), ("mps", 8, "unavailable"),
    ]  # fmt: skip
    assert "torch.cuda.is_available() is False" in recs[0]["error"]
    assert all(r.keys() >= METHOD_FIELDS for r in recs)


def test_oom_is_recorded_and_a_halved_batch_is_measured():
    recs = measure_predictor(FakePredictor(oom_above=4), "fake", ["cpu"], [1, 16], ["model"], [],
                             warmup=1, iters=3, min_seconds=0)  # fmt: skip
    assert [(r["batch_size"], r["status"]) for r in recs] == [(1, "ok"), (16, "oom"), (8, "oom"), (4, "ok")]
    assert "out of memory" in recs[1]["error"] and recs[1]["requested_batch_size"] == 16
    assert recs[3]["requested_batch_size"] == 16 and recs[3]["latency_ms_p50"] > 0


def test_other_failures_are_data_and_other_devices_need_load_on():
    recs = measure_predictor(FakePredictor(), "fake", ["cpu"], [2], ["end_to_end", "model"], [], iters=2, min_seconds=0)
    assert recs[0]["status"] == "error" and "encoded images" in recs[0]["error"]
    assert recs[1]["status"] == "ok"
    recs = measure_predictor(FakePredictor(device="meta"), "fake", ["cpu"], [1], ["model"], [], iters=1)
    assert recs[0]["status"] == "error" and "load_on" in recs[0]["error"]
    loaded = []
    recs = measure_predictor(FakePredictor(device="meta"), "fake", ["cpu"], [1], ["model"], [], iters=1, min_seconds=0,
                             load_on=lambda d: loaded.append(d) or FakePredictor(device=d))  # fmt: skip
    assert loaded == ["cpu"] and recs[0]["status"] == "ok"
    with pytest.raises(ValueError, match="allowed: model, end_to_end"):
        measure_predictor(FakePredictor(), "fake", ["cpu"], [1], ["forward"], [])


def test_stats_match_numpy():
    x = np.random.default_rng(0).gamma(2.0, 3.0, size=257)
    s = summarize(list(x), batch_size=4)
    for q in (50, 90, 99):
        assert s[f"latency_ms_p{q}"] == pytest.approx(np.percentile(x, q))
    assert s["latency_ms_mean"] == pytest.approx(x.mean())
    assert s["latency_ms_std"] == pytest.approx(x.std(ddof=1))
    assert s["throughput_img_s"] == pytest.approx(4 / (x.mean() / 1e3))
    assert summarize([2.0], 1)["latency_ms_std"] == 0.0
    # by hand (linear interpolation between order statistics): [1, 2, 3, 4] -> p50 2.5, p90 3.7, sample std 1.291
    h = summarize([4.0, 1.0, 3.0, 2.0], batch_size=2)
    assert h["latency_ms_p50"] == pytest.approx(2.5)
    assert h["latency_ms_p90"] == pytest.approx(3.7)
    assert h["latency_ms_std"] == pytest.approx(1.2910, abs=1e-4)
    assert h["throughput_img_s"] == pytest.approx(2 / 2.5e-3)
    with pytest.raises(ValueError, match="no samples"):
        summarize([], 1)


def test_real_untrained_classifier_predictor():
    from classifier.backbones import IMAGENET_MEAN, IMAGENET_STD
    from classifier.network import build_network
    from classifier.predictor import Predictor

    net = build_network("mobilenet_v3_small", 3, mode="scratch", weights="none")
    norm = {"mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)}
    pred = Predictor(net, ["a", "b", "c"], [0.5, 0.5, 0.5], norm, {"imgsz": 64}, "cpu")
    recs = measure_predictor(pred, "classifier", ["cpu"], [2], ["model", "end_to_end"],
                             [_png(40, i) for i in range(3)], warmup=1, iters=3, min_seconds=0)  # fmt: skip
    assert [r["status"] for r in recs] == ["ok", "ok"], [r["error"] for r in recs]
    assert all(r["imgsz"] == 64 and r["iters"] >= 3 for r in recs)
    assert pred.end_to_end([_png(40)]).shape == (1, 3)
