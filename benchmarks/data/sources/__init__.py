"""Data-source readers, picked by name (timm-style registry).

A reader turns one source (a folder tree, a labels file, a CVAT export...) into `SourceRows` in the source's own
class names; `benchmarks.data.build` hashes the images, maps the names onto the benchmark's class list and merges
all sources into one Manifest. Readers never decode images for pixels and never write anything.

Adding a format = one file here with `@register_source("name")` on a function
`read(spec: SourceSpec, problems: Problems) -> SourceResult`, plus its import in `_load_all()`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.data.images import IMAGE_SUFFIXES  # noqa: F401  (re-exported: the readers import it from here)
from benchmarks.data.problems import Problems


@dataclass
class SourceSpec:
    """One entry of the config's `sources:` mapping, paths already resolved against the config file's folder."""

    name: str  # the config's key for this source, e.g. "folders", "cvat"
    reader: str  # registry name, e.g. "folders", "cvat_xml"
    path: Path
    images: Path | None = None  # where the image files are, when the annotations live elsewhere
    options: dict = field(default_factory=dict)  # reader-specific (separator, header, skip_shapes, ...)


@dataclass
class SourceBox:
    label: str  # the source's own class name
    x1: float
    y1: float
    x2: float
    y2: float  # pixels in the image as stored on disk


@dataclass
class SourceRow:
    """What one source says about one image file."""

    path: Path
    # source class name -> 1 or 0; absent = NA (or 0 when the result is exhaustive). Box sources put only
    # image-level tags here: the builder adds the classes of the boxes it keeps.
    labels: dict[str, int] = field(default_factory=dict)
    boxes: list[SourceBox] = field(default_factory=list)
    where: str = ""  # "file:line" or "annotations.xml <image id=3>": where this row came from, for messages
    split: str | None = None  # a split the source itself assigns (yolo_dataset train/val), else None
    # image size as the annotation states it, None when it states none; checked against the file, where anything but
    # a positive whole number (0, -5, "abc") is counted as `bad_declared_size`
    width: int | str | None = None
    height: int | str | None = None
    # Source class names with an object on this image that has no usable box (a shape skipped by `options.shapes:
    # skip`, or with unusable coordinates): the detector must not learn that image as background for them.
    # A skipped shape also sets labels[cls] = 1; a class here without a 1 becomes NA (the source cannot tell).
    incomplete: set[str] = field(default_factory=set)


@dataclass
class SourceResult:
    rows: list[SourceRow]
    # Every class name this source can speak about. For each row, a class in `vocabulary` but absent from
    # row.labels is NA for that image; box sources set row.labels themselves (1 if any box/tag, else 0).
    vocabulary: list[str]
    kind: str = "labels"  # "labels" (image-level only) or "boxes" (boxes + derived image-level labels)
    # True: after merging all rows of one image, every vocabulary class not said to be 1 is 0 (label folders,
    # class lists, box annotations: not being there is a "no"). False: absent = NA (labels.txt with NA cells).
    exhaustive: bool = True
    # Where the annotation files are; `data inspect` shows it and the record stores it
    origin: str = ""


Reader = Callable[[SourceSpec, Problems], SourceResult]
_READERS: dict[str, Reader] = {}

# reader modules: each registers one or more names on import
_MODULES = ["folders", "labels_txt", "class_lists", "yolo_dataset", "cvat_xml", "cvat_coco", "cvat_yolo"]


def register_source(name: str) -> Callable[[Reader], Reader]:
    def deco(fn: Reader) -> Reader:
        if name in _READERS:
            raise ValueError(f"source reader {name!r} registered twice")
        _READERS[name] = fn
        return fn

    return deco


def _load_all() -> None:
    for mod in _MODULES:
        importlib.import_module(f"{__name__}.{mod}")


def list_sources() -> list[str]:
    _load_all()
    return sorted(_READERS)


def get_source(name: str) -> Reader:
    _load_all()
    if name not in _READERS:
        from benchmarks.data.problems import DataError

        raise DataError(f"unknown source reader {name!r}; valid readers: {', '.join(sorted(_READERS))}")
    return _READERS[name]


def read_source(spec: SourceSpec, problems: Problems) -> SourceResult:
    return get_source(spec.reader)(spec, problems)
