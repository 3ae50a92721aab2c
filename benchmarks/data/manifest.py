"""The Manifest: one row per image (by content hash), what each source said about it, and every problem found.

Identity is the sha256 of the file's bytes, so the same photo in two label folders is one image with two labels,
and the same photo in train and test is a leak (see split.py). Labels are per source and per class in
{1, 0, NA}; NA (absent key) means the source cannot speak about that class for that image.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from benchmarks.data.problems import Problems
from benchmarks.record import write_json

MANIFEST_VERSION = 1


@dataclass
class ImageRecord:
    id: str  # first 16 hex digits of sha256: short, and collisions are checked at build time
    sha256: str
    path: str  # the file the pipelines read (first seen, absolute)
    width: int
    height: int
    paths: dict[str, list[str]] = field(default_factory=dict)  # source -> the files it named for this image
    labels: dict[str, dict[str, int]] = field(default_factory=dict)  # source -> {class: 1|0}; absent = NA
    boxes: dict[str, list[list[float]]] = field(default_factory=dict)  # source -> [[class_idx, x1, y1, x2, y2], ...]
    split_hint: str | None = None  # a split a source assigned (yolo_dataset train/val), used only when asked
    # source -> classes with an object on this image that has no box (skipped shape, bad coordinates): the
    # image's boxes from that source are incomplete, so detector training and box metrics leave it out
    box_incomplete: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class SourceInfo:
    reader: str
    kind: str  # "labels" or "boxes"
    origin: str
    vocabulary: list[str]  # benchmark class names this source speaks about
    n_rows: int = 0


@dataclass
class Manifest:
    classes: list[str]
    sources: dict[str, SourceInfo]
    images: list[ImageRecord]
    problems: Problems = field(default_factory=Problems)

    def __post_init__(self) -> None:
        self._index = {r.id: i for i, r in enumerate(self.images)}

    # --- lookups -------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.images)

    def get(self, image_id: str) -> ImageRecord:
        return self.images[self._index[image_id]]

    @property
    def ids(self) -> list[str]:
        return [r.id for r in self.images]

    def targets(self, source: str, ids: list[str] | None = None) -> np.ndarray:
        """(N, C) float32 multi-hot with NaN for NA, from `source`'s image-level labels, rows in `ids` order."""
        if source not in self.sources:
            raise KeyError(f"no source {source!r} in the manifest; sources: {', '.join(self.sources)}")
        records = self.images if ids is None else [self.get(i) for i in ids]
        out = np.full((len(records), len(self.classes)), np.nan, dtype=np.float32)
        col = {c: j for j, c in enumerate(self.classes)}
        for i, rec in enumerate(records):
            for cls, value in rec.labels.get(source, {}).items():
                out[i, col[cls]] = float(value)
        return out

    def boxes(self, source: str, image_id: str) -> list[tuple[int, float, float, float, float]]:
        return [(int(b[0]), b[1], b[2], b[3], b[4]) for b in self.get(image_id).boxes.get(source, [])]

    def box_complete(self, source: str, ids: list[str] | None = None) -> list[str]:
        """The ids (all images when None) whose boxes from `source` are complete, in order: the images the
        detector may train and be scored on. The others hold an object without a box (a skipped mask, a shape
        with bad coordinates); as a detector image they would teach that object as background."""
        records = self.images if ids is None else [self.get(i) for i in ids]
        return [r.id for r in records if not r.box_incomplete.get(source)]

    def covered_by(self, source: str) -> list[str]:
        """Ids of the images the source says anything about."""
        return [r.id for r in self.images if source in r.paths]

    # --- summary -------------------------------------------------------------------------------------------
    def class_table(self):
        """pandas DataFrame: per class and source, positives / negatives / NA / boxes."""
        # deferred: pandas is heavy
        import pandas as pd

        rows = []
        for source, info in self.sources.items():
            t = self.targets(source)
            n_boxes = np.zeros(len(self.classes), dtype=int)
            for rec in self.images:
                for b in rec.boxes.get(source, []):
                    n_boxes[int(b[0])] += 1
            for j, cls in enumerate(self.classes):
                col = t[:, j]
                rows.append(
                    {
                        "source": source,
                        "class": cls,
                        "positives": int(np.nansum(col == 1)),
                        "negatives": int(np.nansum(col == 0)),
                        "na": int(np.isnan(col).sum()),
                        "boxes": int(n_boxes[j]) if info.kind == "boxes" else None,
                    }
                )
        return pd.DataFrame(rows)

    # --- persistence ---------------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "manifest_version": MANIFEST_VERSION,
            "classes": self.classes,
            "sources": {k: asdict(v) for k, v in self.sources.items()},
            "images": [asdict(r) for r in self.images],
            "problems": self.problems.to_list(),
        }

    def save(self, path: Path) -> Path:
        return write_json(path, self.to_dict())

    @classmethod
    def from_dict(cls, d: dict) -> Manifest:
        if d.get("manifest_version") != MANIFEST_VERSION:
            raise ValueError(f"manifest version {d.get('manifest_version')} != {MANIFEST_VERSION}: rebuild it")
        return cls(
            classes=list(d["classes"]),
            sources={k: SourceInfo(**v) for k, v in d["sources"].items()},
            images=[ImageRecord(**r) for r in d["images"]],
            problems=Problems.from_list(d.get("problems", [])),
        )

    @classmethod
    def load(cls, path: Path) -> Manifest:
        return cls.from_dict(json.loads(Path(path).read_text()))
