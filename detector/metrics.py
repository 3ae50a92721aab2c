"""Box mAP50 and mAP50-95, overall and per class, from Ultralytics' validator on one split of a dataset view."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from detector import hardware
from detector.dataset import DatasetViewError
from detector.runtime import import_ultralytics  # light: the environment only; ultralytics is imported when called


def box_metrics(pred, view_dir: str | Path, split: str = "test") -> dict:
    """{"map50", "map50_95", "per_class": {cls: {"map50", "map50_95", "n_instances"}}, "split", "n_images", "conf",
    "iou"} of a loaded predictor (its artifact_dir, classes, imgsz, iou, device). Ultralytics' val settings (conf
    0.001, its AP); its run folder lives in <artifact>/ultralytics_val."""
    view_dir = Path(view_dir).resolve()
    data = yaml.safe_load((view_dir / "data.yaml").read_text())
    if not data.get(split):
        raise DatasetViewError(f"box metrics: {view_dir / 'data.yaml'} has no {split!r} split (it has images only in "
                               f"{[s for s in ('train', 'val', 'test') if data.get(s)]})")  # fmt: skip
    import_ultralytics()
    from ultralytics import YOLO

    with hardware.restore_globals(), hardware.keep_torch_threads():
        model = YOLO(str(pred.artifact_dir / "weights" / "best.pt"), task="detect")
        m = model.val(
            data=str(view_dir / "data.yaml"),
            split=split,
            imgsz=pred.imgsz,
            batch=16,
            conf=0.001,  # Ultralytics' val default: AP integrates over the whole ranking
            iou=pred.iou,
            device=hardware.ultralytics_device(pred.device),
            project=str(pred.artifact_dir),
            name="ultralytics_val",
            exist_ok=True,
            plots=False,
            save_json=False,
            verbose=False,
            workers=0,
        )
    box = m.box
    nt = np.asarray(getattr(m, "nt_per_class", None) if getattr(m, "nt_per_class", None) is not None else [])
    per_class = {}
    ap_index = [int(i) for i in box.ap_class_index]
    for c, name in enumerate(pred.classes):
        n_inst = int(nt[c]) if c < len(nt) else 0
        if c in ap_index:
            k = ap_index.index(c)
            per_class[name] = {"map50": float(box.ap50[k]), "map50_95": float(box.ap[k]), "n_instances": n_inst}
        else:  # no instance in this split: AP is undefined, not 0
            per_class[name] = {"map50": None, "map50_95": None, "n_instances": n_inst}
    return {
        "map50": float(box.map50),
        "map50_95": float(box.map),
        "per_class": per_class,
        "split": split,
        "conf": 0.001,
        "iou": pred.iou,
        "imgsz": pred.imgsz,
    }
