"""ONNX export of a loaded predictor's network, once per run and variant, into `run_dir/export/<candidate>/`.

Both exporters keep the network's own output layout, so the predictor's post-processing runs unchanged on the
exported model's output:
- a plain torch network (the classifier): `torch.onnx.export` with the TorchScript-based exporter (the one
  Ultralytics uses; seconds instead of the dynamo exporter's ~15 s), falling back to the dynamo exporter (needs
  onnxscript) where the installed torch has dropped it; a dynamic batch axis.
- an Ultralytics model (the detector): Ultralytics' own `Exporter(format="onnx", dynamic=True)`, which switches the
  head to its export mode (one (B, 4 + nc, anchors) tensor, the first element of the eager output) and writes
  Ultralytics' metadata into the file. Its auto-install is off (detector.runtime), so `onnx` must be installed.

Which exporter a pipeline needs is named once, in EXPORTERS (the pipeline registry is the place for it once the
predictor protocol carries an `export_onnx`).
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


def _ultralytics_onnx(predictor, path: Path, dtype: str, device: str) -> str:
    from detector.runtime import import_ultralytics

    import_ultralytics()
    from ultralytics.engine.exporter import Exporter

    if dtype not in ("float32", "float16"):
        raise ValueError(f"Ultralytics' ONNX exporter writes float32 or float16, not {dtype}")
    model = copy.deepcopy(predictor.model).float()
    model.pt_path = str(path.with_suffix(".pt"))  # the exporter names its output after pt_path: <path>.onnx
    args = {"format": "onnx", "imgsz": int(predictor.imgsz), "dynamic": True, "simplify": False, "opset": OPSET}
    # Ultralytics names a CUDA device by its index ("0"), the CPU by "cpu"
    index = torch_index(device)
    args.update(half=dtype == "float16", device="cpu" if device_kind(device) == "cpu" else str(index))
    out = Path(Exporter(overrides=args)(model=model))
    if out.resolve() != path.resolve():
        out.replace(path)
    return "ultralytics Exporter(format=onnx, dynamic=True)"


EXPORTERS = {"detector": _ultralytics_onnx}  # pipeline -> exporter; others: _torch_onnx


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
    exporter = EXPORTERS.get(pipeline, _torch_onnx)(predictor, path, dtype, device)
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
