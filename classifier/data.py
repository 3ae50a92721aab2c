"""Data: a Dataset over (paths, targets), torchvision v2 transforms, normalisation statistics, the DataModule."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from torchvision.io import ImageReadMode, decode_image, read_file
from torchvision.transforms import v2

# torchvision 0.29 deprecates its image codecs in favour of TorchCodec (not a dependency here); the codecs still
# work and decode_image on file bytes is the fast path this package is specified with. Warned once per call.
warnings.filterwarnings(
    "ignore", message="The image decoding and encoding capabilities of TorchVision", category=DeprecationWarning
)


class ImageDecodeError(RuntimeError):
    user_error = True


def check_header(data: bytes, source: str = "<bytes>") -> None:
    """The check `clsdet data inspect` makes before decoding (it opens every image with PIL): an image over PIL's
    decompression-bomb limit (2 x Image.MAX_IMAGE_PIXELS, about 179 million pixels) or no image at all is an
    ImageDecodeError naming the file, before any decoder allocates its pixels. Reads the header only."""
    import io

    from PIL import Image, UnidentifiedImageError

    if not data:
        raise ImageDecodeError(f"{source}: the file is empty")
    try:
        with Image.open(io.BytesIO(data)):
            pass
    except Image.DecompressionBombError as exc:
        raise ImageDecodeError(f"{source}: {exc}; resize it (or leave it out)") from None
    except (UnidentifiedImageError, OSError, ImportError):  # ImportError: see _unidentified
        pass  # not PIL's: the decoders below say what it is not


def _unidentified(exc: BaseException) -> bool:
    """PIL could not tell what the bytes are. Once Ultralytics is imported (the app and `predict` load the detector)
    it wraps PIL.Image.open and answers that with an attempt to import pi_heif for HEIF, an ImportError when that is
    not installed; the UnidentifiedImageError is then its context."""
    from PIL import UnidentifiedImageError

    return isinstance(exc, UnidentifiedImageError) or (
        isinstance(exc, ImportError) and isinstance(exc.__context__, UnidentifiedImageError)
    )


def open_image(data: bytes, source: str = "<bytes>") -> np.ndarray:
    """Encoded bytes -> HWC RGB uint8 with the checks `clsdet data inspect` makes, for predict, the app and the
    report's pictures: PIL's pixel limit, a file cut short ("truncated", as inspect says), an animated image read
    as its first frame (as inspect reads it), any mode (palette, 16-bit, CMYK, alpha) to RGB, EXIF orientation
    applied as viewers show it. A file that is none of these is an ImageDecodeError saying which."""
    import io

    from PIL import Image, ImageOps, UnidentifiedImageError

    check_header(data, source)
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.seek(0)  # an animated GIF/PNG/WebP: its first frame
            im.load()
            rgb = ImageOps.exif_transpose(im).convert("RGB")
    except (UnidentifiedImageError, ImportError) as exc:
        if not _unidentified(exc):
            raise
        raise ImageDecodeError(
            f"{source}: not an image (JPEG, PNG, BMP, WebP, GIF or TIFF); leave it out or convert it"
        ) from None
    except (OSError, SyntaxError, ValueError) as exc:  # PIL: "image file is truncated", broken data streams
        why = "the file is cut short (truncated)" if "truncated" in str(exc).lower() else f"cannot decode it ({exc})"
        raise ImageDecodeError(f"{source}: {why}; copy or export it again") from None
    return np.asarray(rgb)


def decode_bytes(data: torch.Tensor, source: str = "<bytes>") -> torch.Tensor:
    """uint8 CHW RGB from encoded bytes, with EXIF orientation applied as viewers show it.

    torchvision decodes JPEG/PNG/WebP/GIF; the other formats `clsdet data inspect` accepts (BMP, TIFF:
    benchmarks/data/images.py IMAGE_SUFFIXES) go through PIL, the decoder inspect checks every image with, so an
    image that passes inspect trains. An animated image is its first frame, as inspect reads it. Bytes from outside
    the run (an upload, `clsdet predict`) go through check_header first; the run's own images passed inspect, and
    the timed end-to-end latency must not pay for a second header read."""
    try:
        image = decode_image(data, mode=ImageReadMode.RGB, apply_exif_orientation=True)
    except RuntimeError as exc:
        try:
            image = _decode_pil(data)
        except Exception:
            raise ImageDecodeError(f"cannot decode image {source}: {exc}; remove or re-save the file") from exc
    if image.ndim == 4:  # torchvision decodes every frame of an animated GIF: (frames, C, H, W)
        image = image[0]
    if image.dtype != torch.uint8:  # 16-bit PNG: torchvision keeps 16 bits; every transform here expects 8
        image = (image.float() / 257.0).round().to(torch.uint8)
    return image


def _decode_pil(data: torch.Tensor) -> torch.Tensor:
    import io

    from PIL import Image, ImageOps

    with Image.open(io.BytesIO(data.numpy().tobytes())) as im:
        rgb = ImageOps.exif_transpose(im).convert("RGB")
    return torch.from_numpy(np.asarray(rgb).copy()).permute(2, 0, 1).contiguous()


def load_image(path: str | Path) -> torch.Tensor:
    return decode_bytes(read_file(str(path)), str(path))


def train_transform(imgsz: int, mean, std, min_crop_scale: float = 0.35) -> v2.Compose:
    return v2.Compose(
        [
            v2.RandomResizedCrop(imgsz, scale=(min_crop_scale, 1.0), antialias=True),
            v2.RandomHorizontalFlip(),
            v2.ColorJitter(brightness=0.2, contrast=0.2, saturation=0.2),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(mean=list(mean), std=list(std)),
        ]
    )


def eval_resize(imgsz: int, eval_crop_ratio: float = 1.0) -> v2.Compose:
    resize = v2.Resize(round(imgsz / eval_crop_ratio), antialias=True)
    return v2.Compose([resize, v2.CenterCrop(imgsz), v2.ToDtype(torch.float32, scale=True)])


def eval_transform(imgsz: int, mean, std, eval_crop_ratio: float = 1.0) -> v2.Compose:
    return v2.Compose([eval_resize(imgsz, eval_crop_ratio), v2.Normalize(mean=list(mean), std=list(std))])


class ImageDataset(Dataset):
    """(image tensor, target row) pairs; targets may hold NaN (NA). Without targets yields an empty target."""

    def __init__(self, paths: Sequence[str | Path], targets: np.ndarray | None, transform):
        self.paths = [str(p) for p in paths]
        self.targets = None if targets is None else torch.as_tensor(np.asarray(targets, dtype=np.float32))
        if self.targets is not None and len(self.targets) != len(self.paths):
            raise ValueError(f"{len(self.paths)} paths but {len(self.targets)} target rows")
        self.transform = transform

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int):
        image = self.transform(load_image(self.paths[i]))
        target = self.targets[i] if self.targets is not None else torch.empty(0)
        return image, target


def compute_normalization(paths: Sequence[str | Path], imgsz: int, max_images: int = 512, seed: int = 0) -> dict:
    """Per-channel mean/std over (a seeded sample of up to max_images of) the train images at eval size."""
    rng = np.random.default_rng(seed)
    chosen = list(paths) if len(paths) <= max_images else [paths[i] for i in rng.choice(len(paths), max_images, False)]
    resize = eval_resize(imgsz)
    total = torch.zeros(3, dtype=torch.float64)
    total_sq = torch.zeros(3, dtype=torch.float64)
    count = 0
    for p in chosen:
        x = resize(load_image(p)).double()
        total += x.sum(dim=(1, 2))
        total_sq += (x * x).sum(dim=(1, 2))
        count += x.shape[1] * x.shape[2]
    mean = total / count
    std = (total_sq / count - mean * mean).clamp_min(1e-12).sqrt().clamp_min(1e-3)
    return {"mean": mean.tolist(), "std": std.tolist(), "source": f"train split ({len(chosen)} images)"}


class ClassifierDataModule(L.LightningDataModule):
    def __init__(
        self,
        train_paths,
        train_targets,
        val_paths,
        val_targets,
        imgsz: int,
        batch: int,
        workers: int,
        normalization: dict,
        min_crop_scale: float = 0.35,
        eval_crop_ratio: float = 1.0,
    ):
        super().__init__()
        mean, std = normalization["mean"], normalization["std"]
        self.train_set = ImageDataset(train_paths, train_targets, train_transform(imgsz, mean, std, min_crop_scale))
        self.val_set = ImageDataset(val_paths, val_targets, eval_transform(imgsz, mean, std, eval_crop_ratio))
        self.batch = batch
        self.workers = workers

    def _loader(self, dataset, shuffle: bool) -> DataLoader:
        return DataLoader(
            dataset,
            batch_size=self.batch,
            shuffle=shuffle,
            num_workers=self.workers,
            # re-forking workers every epoch costs more than a short epoch on small data
            persistent_workers=self.workers > 0,
            # a final batch of 1 breaks BatchNorm in train mode
            drop_last=shuffle and len(dataset) % self.batch == 1,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_set, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_set, shuffle=False)
