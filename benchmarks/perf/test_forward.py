"""Forward-pass micro-benchmarks of the classifier and the detector (pytest-benchmark), batch 1, at the benchmark's
input size, on the CPU and on CUDA / MPS when present (skipped otherwise).

Run (the JSON keeps every round, machine info with the GPU, and the commit):

    .venv/bin/python -m pytest benchmarks/perf --benchmark-enable --benchmark-json results/perf/perf.json

or `make perf`. Timed: the network's forward on a preprocessed tensor already on the device (the `model` scope of
`clsdet bench`'s latency records), under torch.inference_mode, with the device synchronised inside every round.
Models: the trained ones of a benchmark run with `--run-dir results/runs/<id>` (or $CLSDET_RUN_DIR); otherwise
untrained networks of the default configs (resnet18 and yolo11n at 160 px: the same FLOPs and the same speed).
This suite is not part of `make test` (pyproject's testpaths is tests/, and addopts disables benchmarks).
"""

from __future__ import annotations

import pytest
import torch

from benchmarks.measure.latency import device_present

DEVICES = ["cpu", "cuda", "mps"]
MODELS = ["classifier", "detector"]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("model", MODELS)
def test_forward_batch1(benchmark, forward_step, model, device, run_dir):
    if not device_present(device):
        pytest.skip(f"{device} is not available on this machine")
    step, imgsz = forward_step(model, device)
    for _ in range(3):  # warm-up outside the rounds: first calls allocate and pick kernels
        step()
    benchmark.group = f"forward b1 {device}"
    benchmark.extra_info.update(
        model=model, device=device, imgsz=imgsz, batch_size=1, threads=torch.get_num_threads(),
        weights="trained" if run_dir else "untrained", scope="model",
    )  # fmt: skip
    out = benchmark(step)
    assert out is not None
