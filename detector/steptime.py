"""One optimizer step and one forward of the detector at its input size, as callables for the run plan to time
(benchmarks/harness/plan.py times them with the harness's own timer and records how).

Ultralytics' own DetectionModel from the model's yaml (from scratch: a step's arithmetic does not depend on the
weights) with its own detection loss on a random batch with a few boxes per image. Data loading, augmentation and
the per-epoch validation's NMS and mAP are not in it: the plan's calibration adds them.
"""

from __future__ import annotations

from detector.config import DetectorConfig

BOXES_PER_IMAGE = 4  # the loss's target assignment grows with the boxes; a handful is typical of the data sets seen


def step_functions(cfg: DetectorConfig, n_classes: int, batch: int, device: str = "cpu") -> dict:
    """{"train_step": forward + detection loss + backward + SGD step, "forward": a no-grad forward, "model"}."""
    from detector.hardware import restore_globals
    from detector.models import get_spec
    from detector.runtime import import_ultralytics

    import_ultralytics()
    import torch
    from ultralytics.cfg import get_cfg
    from ultralytics.nn.tasks import DetectionModel

    with restore_globals():
        model = DetectionModel(get_spec(cfg.model).yaml_name, nc=n_classes, verbose=False).to(device)
    model.args = get_cfg()  # the loss reads its box/cls/dfl gains from here, as the trainer sets them
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(batch, 3, cfg.imgsz, cfg.imgsz, generator=g).to(device)
    n = batch * BOXES_PER_IMAGE
    xy = torch.rand(n, 2, generator=g) * 0.6 + 0.2
    wh = torch.rand(n, 2, generator=g) * 0.2 + 0.05
    targets = {
        "img": x,
        "batch_idx": torch.arange(batch).repeat_interleave(BOXES_PER_IMAGE).float().to(device),
        "cls": torch.randint(0, n_classes, (n, 1), generator=g).float().to(device),
        "bboxes": torch.cat([xy, wh], 1).to(device),  # normalised xywh, as Ultralytics' loader yields them
    }

    def train_step() -> None:
        model.train()
        opt.zero_grad(set_to_none=True)
        loss, _ = model.loss(targets)
        loss.sum().backward()
        opt.step()

    def forward() -> None:
        model.eval()
        with torch.no_grad():
            model(x)

    return {"train_step": train_step, "forward": forward, "model": model}
