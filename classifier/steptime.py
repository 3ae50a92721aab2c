"""A few real optimizer steps of the classifier at its input size, timed: the run plan's measure of this machine.

The network is built from scratch whatever the weights setting (the arithmetic of a step does not depend on the
values), with the configured backbone, mode (a frozen backbone skips its backward), input size and batch; the
batch is random pixels. Decoding and augmentation are not in it: the plan's calibration adds them
(benchmarks/harness/plan.py).
"""

from __future__ import annotations

import time

import torch

from classifier.config import ClassifierConfig
from classifier.network import build_network


def time_steps(cfg: ClassifierConfig, n_classes: int, batch: int, device: str = "cpu", steps: int = 3) -> dict:
    """{"train_step_s": seconds per optimizer step at `batch`, "infer_image_s": seconds per image of a no-grad
    forward, "steps": timed steps}: median of `steps` after one untimed warm-up step."""
    net = build_network(cfg.backbone, n_classes, cfg.mode, "none", cfg.imgsz).to(device)
    params = [p for p in net.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4)
    x = torch.rand(batch, 3, cfg.imgsz, cfg.imgsz, device=device)
    y = (torch.rand(batch, n_classes, device=device) > 0.5).float()
    loss_fn = torch.nn.BCEWithLogitsLoss()

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        loss_fn(net(x), y).backward()
        opt.step()

    net.train()
    train = _median_time(step, steps, device)
    net.eval()
    with torch.no_grad():
        infer = _median_time(lambda: net(x), steps, device)
    return {"train_step_s": train, "infer_image_s": infer / batch, "steps": steps, "batch": batch}


def _median_time(fn, steps: int, device: str) -> float:
    fn()  # warm-up: allocator, first-call kernel selection
    times = []
    for _ in range(steps):
        _sync(device)
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    elif device == "mps":
        torch.mps.synchronize()
