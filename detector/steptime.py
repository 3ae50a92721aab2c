"""A few real optimizer steps of the detector at its input size, timed: the run plan's measure of this machine.

Ultralytics' own DetectionModel from the model's yaml (from scratch: a step's arithmetic does not depend on the
weights) with its own detection loss on a random batch with a few boxes per image, at the configured input size
and batch. Data loading, augmentation and the per-epoch validation's NMS and mAP are not in it: the plan's
calibration adds them (benchmarks/harness/plan.py).
"""

from __future__ import annotations

from detector.config import DetectorConfig

BOXES_PER_IMAGE = 4  # the loss's target assignment grows with the boxes; a handful is typical of the data sets seen


def time_steps(cfg: DetectorConfig, n_classes: int, batch: int, device: str = "cpu", steps: int = 3) -> dict:
    """{"train_step_s", "infer_image_s", "steps", "batch"} as classifier.steptime.time_steps: median of `steps`
    after one untimed warm-up."""
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

        def step() -> None:
            opt.zero_grad(set_to_none=True)
            loss, _ = model.loss(targets)
            loss.sum().backward()
            opt.step()

        from classifier.steptime import _median_time  # one timing rule for both pipelines

        model.train()
        train = _median_time(step, steps, device)
        model.eval()
        with torch.no_grad():
            infer = _median_time(lambda: model(x), steps, device)
    return {"train_step_s": train, "infer_image_s": infer / batch, "steps": steps, "batch": batch}
