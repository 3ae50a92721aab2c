"""pytest-benchmark suite setup: offline runtime and threads, the `--run-dir` option, the models under test, and
the GPU / torch facts added to pytest-benchmark's `machine_info` (it records CPU, not GPU, by itself)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from benchmarks import runtime

runtime.setup()

N_CLASSES = 5  # untrained models only: the head width barely moves the forward time


def pytest_addoption(parser):
    parser.addoption(
        "--run-dir",
        default=os.environ.get("CLSDET_RUN_DIR"),
        help="a `clsdet bench` run folder (results/runs/<id>) whose trained classifier/ and detector/ are timed; "
        "default $CLSDET_RUN_DIR, else untrained models from the default configs",
    )


def pytest_benchmark_update_machine_info(config, machine_info):
    from benchmarks.measure.machine import machine_info as clsdet_machine_info

    info = clsdet_machine_info()
    machine_info.update(
        gpu=info["gpu"], mps=info["mps"], torch=info["torch"], cuda=info["cuda"], cudnn=info["cudnn"],
        torch_threads=info["threads"], clsdet_machine_id=info["machine_id"],
    )  # fmt: skip


def _ultralytics():
    try:  # the detector's importer that tolerates settings keys this Ultralytics lacks
        from detector.ultra import ultralytics as import_ultralytics
    except ImportError:
        from detector.runtime import import_ultralytics
    return import_ultralytics()


def untrained(model: str):
    """(network, imgsz) built from the registries with the default configs: what a fresh benchmark would train."""
    if model == "classifier":
        from classifier.config import ClassifierConfig
        from classifier.network import build_network

        cfg = ClassifierConfig()
        return build_network(cfg.backbone, N_CLASSES, mode="scratch", weights="none"), cfg.imgsz
    from detector.config import DetectorConfig
    from detector.models import check_model_name

    cfg = DetectorConfig()
    _ultralytics()
    from ultralytics.nn.tasks import DetectionModel

    net = DetectionModel(check_model_name(cfg.model), nc=N_CLASSES, verbose=False)
    # Conv+BN fused, as detector.load() and Ultralytics' inference path run it
    return net.fuse(verbose=False), cfg.imgsz


def _forward_step(model: str, device: str, run_dir):
    """(step, imgsz): one synchronised no-grad forward of batch 1 at the model's input size on `device`."""
    import torch

    if run_dir is not None:
        import importlib

        pred = importlib.import_module(model).load(run_dir / model, device=device)
        net, imgsz = pred.model, pred.imgsz
    else:
        net, imgsz = untrained(model)
    net = net.float().eval().to(device)
    x = torch.rand(1, 3, imgsz, imgsz, generator=torch.Generator().manual_seed(0)).to(device)
    sync = {"cuda": torch.cuda.synchronize, "mps": lambda: torch.mps.synchronize()}.get(device, lambda: None)

    def step():
        with torch.inference_mode():
            out = net(x)
        sync()
        return out

    return step, imgsz


@pytest.fixture(scope="session")
def forward_step(run_dir):
    """forward_step(model, device) -> (step, imgsz)."""
    return lambda model, device: _forward_step(model, device, run_dir)


@pytest.fixture(scope="session")
def run_dir(request) -> Path | None:
    value = request.config.getoption("--run-dir")
    if not value:
        return None
    path = Path(value)
    if not path.is_dir():
        raise pytest.UsageError(f"--run-dir {path} is not a folder; pass a results/runs/<id> folder of `clsdet bench`")
    return path
