"""`load(artifact_dir)` -> Predictor: the trained network plus everything needed to go from bytes to labels.

Preprocessing is Ultralytics' own (cv2 decode, LetterBox to a square imgsz, grey 114 padding, RGB, /255) and
post-processing its NMS, applied here directly instead of through `YOLO.predict`: the same code then serves
`predict_scores`, the latency scopes (`forward` = network only, `end_to_end` = bytes to decisions) and a fixed,
recorded confidence floor, and Ultralytics cannot reset torch threads on every call.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from detector.scores import max_conf_per_class
from detector.training import write_thresholds


class ArtifactError(FileNotFoundError):
    user_error = True


class ImageDecodeError(ValueError):
    user_error = True


MAX_DET = 300  # Ultralytics' max_det default for predict and val
ONNX_OPSET = 17  # supported by onnxruntime >= 1.14; the harness records it with every export


class Predictor:
    def __init__(self, model, classes, thresholds, config: dict, device: str, artifact_dir: Path):
        import torch

        self.model: torch.nn.Module = model.float().eval().to(device)
        self.classes: list[str] = list(classes)
        self.thresholds: np.ndarray = np.asarray(thresholds, dtype=np.float32)
        self.config = config
        self.device = device
        self.imgsz: int = int(config["imgsz"])
        self.conf_floor: float = float(config["conf_floor"])
        self.iou: float = float(config["iou"])
        self.artifact_dir = Path(artifact_dir)
        self.end2end = bool(getattr(model, "end2end", False))  # YOLO26 heads emit NMS-free (B, 300, 6) outputs

    # --- bytes / arrays -> batch ---------------------------------------------------------------------------------
    def _letterbox(self, img: np.ndarray) -> np.ndarray:
        from ultralytics.data.augment import LetterBox

        return LetterBox((self.imgsz, self.imgsz), auto=False, stride=32)(image=img)

    def preprocess(self, images) -> torch.Tensor:  # noqa: F821 - torch is imported lazily
        """Images as numpy HWC BGR uint8 (cv2's layout) or torch uint8 CHW RGB (torchvision.io's) -> a float
        (B, 3, imgsz, imgsz) RGB batch in [0, 1] on the device."""
        import torch

        arrays = []
        for im in images:
            if isinstance(im, torch.Tensor):
                im = np.ascontiguousarray(im.permute(1, 2, 0).cpu().numpy()[..., ::-1])  # CHW RGB -> HWC BGR
            arrays.append(self._letterbox(im))
        batch = np.stack(arrays)[..., ::-1].transpose(0, 3, 1, 2)  # BGR -> RGB, BHWC -> BCHW
        return torch.from_numpy(np.ascontiguousarray(batch)).to(self.device).float().div_(255.0)

    def example_input(self, batch_size: int = 1):
        import torch

        gen = torch.Generator().manual_seed(0)
        return torch.rand(batch_size, 3, self.imgsz, self.imgsz, generator=gen).to(self.device)

    def forward(self, batch):
        """The raw network output (no NMS): what `model`-scope latency times."""
        import torch

        with torch.inference_mode():
            return self.model(batch)

    # --- batch -> detections ---------------------------------------------------------------------------------------
    def _nms(self, raw) -> list:
        from ultralytics.utils import nms

        return nms.non_max_suppression(
            raw, self.conf_floor, self.iou, max_det=MAX_DET, nc=len(self.classes), end2end=self.end2end
        )

    def _detect(self, images: list[np.ndarray]) -> list[np.ndarray]:
        from ultralytics.utils import ops

        dets = self._nms(self.forward(self.preprocess(images)))
        out = []
        for det, im in zip(dets, images):
            det = det.clone()
            det[:, :4] = ops.scale_boxes((self.imgsz, self.imgsz), det[:, :4], im.shape[:2])
            out.append(det[:, :6].float().cpu().numpy())
        return out

    def predict_boxes(self, images, conf: float | None = None, batch_size: int = 32) -> list[np.ndarray]:
        """Per image (K, 6): x1, y1, x2, y2, conf, cls in original pixels, conf >= max(conf, conf_floor).

        `images` are file paths or numpy HWC BGR uint8 arrays (cv2's layout), mixed freely. `conf` only filters
        the boxes NMS kept at the recorded conf_floor, so per class the highest box confidence is the same number
        `predict_scores` gives (the app's confidence slider then never changes the image-level scores)."""
        from ultralytics.utils.patches import imread

        out: list[np.ndarray] = []
        items = list(images)
        for i in range(0, len(items), batch_size):
            arrays = []
            for item in items[i : i + batch_size]:
                if isinstance(item, np.ndarray):
                    arrays.append(item)
                    continue
                im = imread(str(item))
                if im is None:
                    raise ArtifactError(f"detector: cannot read image {item}")
                arrays.append(im)
            out += self._detect(arrays)
        if conf is not None:
            out = [d[d[:, 4] >= conf] for d in out]
        return out

    def predict_scores(self, paths, batch_size: int = 32) -> np.ndarray:
        """(N, C) float32: per class the highest detection confidence in the image, 0 when none >= conf_floor."""
        return self.scores_from_boxes(self.predict_boxes(paths, batch_size=batch_size))

    def scores_from_boxes(self, boxes: list[np.ndarray]) -> np.ndarray:
        """predict_boxes' output -> (N, C) float32 image-level scores: per class the highest box confidence."""
        return max_conf_per_class(boxes, len(self.classes))

    @staticmethod
    def _decode(data: bytes) -> np.ndarray | None:
        """Encoded bytes -> HWC BGR uint8 as Ultralytics reads files (cv2.imdecode); None when cv2 cannot."""
        import cv2

        return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)

    def end_to_end(self, encoded: list[bytes]) -> np.ndarray:
        """Encoded images -> (N, C) bool: decode, letterbox, forward, NMS, max conf per class, >= thresholds."""
        images = [self._decode(b) for b in encoded]
        dets = [d[:, :6].float().cpu().numpy() for d in self._nms(self.forward(self.preprocess(images)))]
        return max_conf_per_class(dets, len(self.classes)) >= self.thresholds

    def scores_encoded(self, data: bytes, name: str = "<bytes>") -> tuple[np.ndarray, np.ndarray]:
        """One encoded image -> (C,) float32 scores (per class the highest box confidence) and its (K, 6) boxes in
        original pixels, decoded as end_to_end decodes. cv2 has no pixel limit: the caller checks untrusted bytes
        first (benchmarks.predictions.scoring.predict_encoded does)."""
        image = self._decode(data)
        if image is None:
            raise ImageDecodeError(f"{name}: cv2 cannot decode it as an image; convert it to JPEG or PNG")
        (boxes,) = self.predict_boxes([image])
        return max_conf_per_class([boxes], len(self.classes))[0], boxes

    # --- optional parts of the harness's predictor protocol (benchmarks/registry/pipelines.py) ------------------------
    def count_flops(self, example_input) -> tuple[int | None, str]:
        """Ultralytics' own counter (thop MACs x 2): FlopCounterMode cannot trace every YOLO head."""
        from ultralytics.utils.torch_utils import get_flops

        imgsz = list(example_input.shape[-2:])
        gflops = get_flops(self.model, imgsz=imgsz)
        if not gflops:
            return None, f"not counted: ultralytics get_flops returned {gflops!r} at imgsz {imgsz}"
        return int(gflops * 1e9), f"ultralytics.utils.torch_utils.get_flops (thop MACs x 2), batch 1, imgsz {imgsz}"

    def export_onnx(self, path, dtype: str = "float32", device: str = "cpu") -> str:
        """Ultralytics' own ONNX exporter (dynamic batch): its export-mode head keeps the (B, 4 + nc, anchors) layout
        this predictor's NMS reads. Returns the exporter's name for the record."""
        import copy

        from detector.runtime import import_ultralytics

        import_ultralytics()
        from ultralytics.engine.exporter import Exporter

        if dtype not in ("float32", "float16"):
            raise ValueError(f"Ultralytics' ONNX exporter writes float32 or float16, not {dtype}")
        path = Path(path)
        model = copy.deepcopy(self.model).float()
        model.pt_path = str(path.with_suffix(".pt"))  # the exporter names its output after pt_path: <path>.onnx
        args = {"format": "onnx", "imgsz": self.imgsz, "dynamic": True, "simplify": False, "opset": ONNX_OPSET}
        kind, _, index = str(device).partition(":")  # Ultralytics names a CUDA device by its index, the CPU "cpu"
        args.update(half=dtype == "float16", device="cpu" if kind == "cpu" else (index or "0"))
        out = Path(Exporter(overrides=args)(model=model))
        if out.resolve() != path.resolve():
            out.replace(path)
        return "ultralytics Exporter(format=onnx, dynamic=True)"

    def box_metrics(self, samples: list[dict], work_dir) -> dict:
        """Box mAP on `samples` (plain dicts: id, path, width, height, boxes [[cls, x1, y1, x2, y2], ...]),
        through a test-only dataset view in work_dir (Ultralytics writes its label cache there)."""
        from detector.dataset import ViewImage, build_dataset_view
        from detector.metrics import box_metrics

        images = [
            ViewImage(s["id"], Path(s["path"]), s["width"], s["height"], [tuple(b) for b in s["boxes"]])
            for s in samples
        ]
        view = build_dataset_view(work_dir, self.classes, {"test": images}, eval_only=True)
        return box_metrics(self, view, split="test")

    def save_thresholds(self, thresholds, method: str = "tuned on val") -> None:
        th = np.asarray(thresholds, dtype=np.float32).reshape(-1)
        if th.shape != (len(self.classes),):
            raise ValueError(f"thresholds has shape {th.shape}; expected ({len(self.classes)},), one per class")
        write_thresholds(self.artifact_dir, self.classes, th, method)
        self.thresholds = th


def _read_json(path: Path):
    if not path.is_file():
        raise ArtifactError(f"detector artifact: {path} is missing; pass the folder detector.train() returned")
    return json.loads(path.read_text())


def load(artifact_dir: str | Path, device: str = "cpu") -> Predictor:
    from detector.hardware import resolve_device
    from detector.runtime import import_ultralytics

    artifact_dir = Path(artifact_dir).resolve()
    config = _read_json(artifact_dir / "config.json")
    classes = _read_json(artifact_dir / "classes.json")
    th_doc = _read_json(artifact_dir / "thresholds.json")["thresholds"]
    missing = [c for c in classes if c not in th_doc]
    if missing:
        raise ArtifactError(f"{artifact_dir / 'thresholds.json'}: no threshold for classes {missing}; re-run training")
    weights = artifact_dir / "weights" / "best.pt"
    if not weights.is_file():
        raise ArtifactError(f"detector artifact: {weights} is missing; pass the folder detector.train() returned")
    import_ultralytics()
    from ultralytics.nn.tasks import load_checkpoint

    device = resolve_device(device)
    # Conv+BN fused as Ultralytics does for inference (AutoBackend fuse=True): the network that predict() runs
    try:
        model, _ = load_checkpoint(weights, device="cpu", fuse=True)
    except Exception as exc:  # truncated copy, interrupted save, another file under this name
        raise ArtifactError(
            f"detector artifact: {weights} cannot be read ({type(exc).__name__}: {str(exc)[:200]}); the file is "
            "damaged or incomplete: copy the artifact folder again, or re-run training"
        ) from None
    return Predictor(model, classes, [th_doc[c] for c in classes], config, device, artifact_dir)
