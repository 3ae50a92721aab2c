"""ONNX export of a loaded predictor's network, once per run and variant, into `run_dir/export/<candidate>/`.

Both exporters keep the network's own output layout, so the predictor's post-processing runs unchanged on the
exported model's output:
- a plain torch network (the classifier): `torch.onnx.export` with the TorchScript-based exporter (the one
  Ultralytics uses; seconds instead of the dynamo exporter's ~15 s), falling back to the dynamo exporter (needs
  onnxscript) where the installed torch has dropped it; a dynamic batch axis.
- a predictor with its own `export_onnx(path, dtype, device) -> exporter name` (optional part of the predictor
  protocol, benchmarks/registry/pipelines.py) uses it: the detector's is Ultralytics' own `Exporter(format="onnx",
  dynamic=True)`, which switches the head to its export mode and writes Ultralytics' metadata into the file.
"""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path

from benchmarks.measure.devices import kind as device_kind

OPSET = 17  # supported by onnxruntime >= 1.14 and by both exporters; recorded with every export


def torch_index(device: str) -> int:
    return int(str(device).split(":", 1)[1]) if ":" in str(device) else 0


def _torch_onnx(predictor, path: Path, dtype: str, device: str) -> str:
    # deferred: torch is heavy
    import torch

    tdtype = getattr(torch, dtype)
    model = copy.deepcopy(predictor.model).to(device=device, dtype=tdtype).eval()
    x = predictor.example_input(2).to(device=device, dtype=tdtype)
    try:
        torch.onnx.export(
            model,
            (x,),
            str(path),
            input_names=["images"],
            output_names=["output0"],
            dynamic_axes={"images": {0: "batch"}, "output0": {0: "batch"}},
            opset_version=OPSET,
            dynamo=False,
        )
        return "torch.onnx.export (TorchScript)"
    except Exception:  # noqa: BLE001 - a torch without the TorchScript exporter: the dynamo one below
        batch = torch.export.Dim("batch", min=1, max=4096)
        torch.onnx.export(model, (x,), str(path), input_names=["images"], output_names=["output0"],
                          dynamic_shapes=({0: batch},), opset_version=OPSET, dynamo=True)  # fmt: skip
        return "torch.onnx.export (dynamo)"


def export_onnx(predictor, pipeline: str, out_dir: Path, dtype: str = "float32", device: str = "cpu") -> dict:
    """`out_dir/<dtype>.onnx` (reused when it exists, with its `.json` description) -> the export record:
    path, file_mb, exporter, opset, export_s (0 when reused), reused."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{dtype}.onnx"
    meta_path = path.with_suffix(".json")
    if path.is_file() and meta_path.is_file():
        meta = json.loads(meta_path.read_text())
        return {**meta, "path": str(path), "export_s": 0.0, "reused": True}
    t0 = time.perf_counter()
    own = getattr(predictor, "export_onnx", None)
    exporter = own(path, dtype, device) if own is not None else _torch_onnx(predictor, path, dtype, device)
    meta = {
        "exporter": exporter,
        "opset": OPSET,
        "dtype": dtype,
        "exported_on": device_kind(device),
        "file_mb": round(path.stat().st_size / 2**20, 4),
        "export_s_first": round(time.perf_counter() - t0, 3),
    }
    meta_path.write_text(json.dumps(meta, indent=1) + "\n")
    return {**meta, "path": str(path), "export_s": meta["export_s_first"], "reused": False}
