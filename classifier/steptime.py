"""One optimizer step and one forward of the classifier at its input size, as callables for the run plan to time
(benchmarks/harness/plan.py times them with the harness's own timer and records how).

The network is built from scratch whatever the weights setting (the arithmetic of a step does not depend on the
values), with the configured backbone, mode (a frozen backbone skips its backward), input size and the given batch;
the batch is random pixels. Decoding and augmentation are not in it: the plan's calibration adds them.
"""

from __future__ import annotations

import torch

from classifier.config import ClassifierConfig
from classifier.network import build_network


def step_functions(cfg: ClassifierConfig, n_classes: int, batch: int, device: str = "cpu") -> dict:
    """{"train_step": forward + loss + backward + AdamW step, "forward": a no-grad forward, "model": the network}."""
    net = build_network(cfg.backbone, n_classes, cfg.mode, "none", cfg.imgsz).to(device)
    opt = torch.optim.AdamW([p for p in net.parameters() if p.requires_grad], lr=1e-4)
    x = torch.rand(batch, 3, cfg.imgsz, cfg.imgsz, device=device)
    y = (torch.rand(batch, n_classes, device=device) > 0.5).float()
    loss_fn = torch.nn.BCEWithLogitsLoss()

    def train_step() -> None:
        net.train()
        opt.zero_grad(set_to_none=True)
        loss_fn(net(x), y).backward()
        opt.step()

    def forward() -> None:
        net.eval()
        with torch.no_grad():
            net(x)

    return {"train_step": train_step, "forward": forward, "model": net}
