"""`load(artifact_dir)` -> Predictor: the trained network plus everything needed to go from bytes to labels."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from classifier.config import ConfigError
from classifier.data import ImageDataset, check_header, decode_bytes, eval_transform
from classifier.hardware import resolve_device
from classifier.network import build_network


class ArtifactError(FileNotFoundError):
    user_error = True


class Predictor:
    def __init__(
        self,
        model: torch.nn.Module,
        classes,
        thresholds,
        normalization: dict,
        config: dict,
        device: str,
        artifact_dir: Path | None = None,
    ):
        self.model = model.eval().to(device)
        self.classes: list[str] = list(classes)
        self.thresholds: np.ndarray = np.asarray(thresholds, dtype=np.float32)
        self.normalization = normalization
        self.config = config
        self.device = device
        self.artifact_dir = Path(artifact_dir) if artifact_dir is not None else None
        self.imgsz: int = int(config["imgsz"])
        self.transform = eval_transform(
            self.imgsz, normalization["mean"], normalization["std"], config.get("eval_crop_ratio", 1.0)
        )

    def preprocess(self, images: list[torch.Tensor]) -> torch.Tensor:
        """uint8 CHW images -> normalised float batch on the device (the eval transform)."""
        return torch.stack([self.transform(img) for img in images]).to(self.device)

    def example_input(self, batch_size: int = 1) -> torch.Tensor:
        gen = torch.Generator().manual_seed(0)
        return torch.randn(batch_size, 3, self.imgsz, self.imgsz, generator=gen).to(self.device)

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return self.model(batch)

    def predict_scores(self, paths, batch_size: int = 64, workers: int = 0) -> np.ndarray:
        """(N, C) float32 sigmoid probabilities for image files."""
        loader = DataLoader(ImageDataset(paths, None, self.transform), batch_size=batch_size, num_workers=workers)
        out = [torch.sigmoid(self.forward(x.to(self.device)).float()).cpu() for x, _ in loader]
        if not out:
            return np.zeros((0, len(self.classes)), dtype=np.float32)
        return torch.cat(out).numpy().astype(np.float32)

    def _probs(self, images: list[torch.Tensor]) -> np.ndarray:
        return torch.sigmoid(self.forward(self.preprocess(images)).float()).cpu().numpy()

    def end_to_end(self, encoded: list[bytes]) -> np.ndarray:
        """Encoded images -> (N, C) bool decisions: decode, preprocess, forward, sigmoid, per-class thresholds."""
        images = [decode_bytes(torch.frombuffer(bytearray(b), dtype=torch.uint8)) for b in encoded]
        return self._probs(images) >= self.thresholds

    def scores_encoded(self, data: bytes, name: str = "<bytes>") -> tuple[np.ndarray, None]:
        """One encoded image from outside the run (an upload, `clsdet predict`) -> (C,) float32 sigmoid scores,
        decoded as end_to_end decodes; no boxes. A bomb or a non-image is an ImageDecodeError naming `name`,
        refused by the header check before torchvision allocates its pixels."""
        check_header(data, name)
        image = decode_bytes(torch.frombuffer(bytearray(data), dtype=torch.uint8), name)
        return self._probs([image])[0].astype(np.float32), None

    def save_thresholds(self, thresholds, method: str = "tuned on val") -> None:
        th = np.asarray(thresholds, dtype=np.float32).reshape(-1)
        if th.shape != (len(self.classes),):
            raise ValueError(f"thresholds has shape {th.shape}; expected ({len(self.classes)},), one per class")
        if self.artifact_dir is None:
            raise ValueError("this predictor was not loaded from an artifact folder; nowhere to save thresholds")
        doc = {"method": method, "thresholds": {c: float(v) for c, v in zip(self.classes, th)}}
        (self.artifact_dir / "thresholds.json").write_text(json.dumps(doc, indent=2) + "\n")
        self.thresholds = th


def _read_json(path: Path):
    if not path.is_file():
        raise ArtifactError(f"classifier artifact: {path} is missing; pass the folder train() returned")
    return json.loads(path.read_text())


def load(artifact_dir: str | Path, device: str = "cpu") -> Predictor:
    artifact_dir = Path(artifact_dir)
    config = _read_json(artifact_dir / "config.json")
    classes = _read_json(artifact_dir / "classes.json")
    thresholds_doc = _read_json(artifact_dir / "thresholds.json")
    normalization = _read_json(artifact_dir / "normalization.json")
    missing = [c for c in classes if c not in thresholds_doc["thresholds"]]
    if missing:
        raise ConfigError(f"{artifact_dir / 'thresholds.json'}: no threshold for classes {missing}; re-run training")
    thresholds = [thresholds_doc["thresholds"][c] for c in classes]
    weights = artifact_dir / "weights.pt"
    if not weights.is_file():
        raise ArtifactError(f"classifier artifact: {weights} is missing; pass the folder train() returned")
    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated copy, interrupted save, another file under this name
        raise ArtifactError(
            f"classifier artifact: {weights} cannot be read ({type(exc).__name__}: {str(exc)[:200]}); the file is "
            "damaged or incomplete: copy the artifact folder again, or re-run training"
        ) from None
    # the trained weights replace everything, so the network is built without its original weights source
    net = build_network(config["backbone"], len(classes), mode="scratch", weights="none", imgsz=config.get("imgsz"))
    net.load_state_dict(state)
    return Predictor(net, classes, thresholds, normalization, config, resolve_device(device), artifact_dir)
