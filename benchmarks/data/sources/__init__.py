"""Data-source readers, picked by name (timm-style registry).

A reader turns one source (a folder tree, a labels file, a CVAT export...) into `SourceRows` in the source's own
class names; `benchmarks.data.build` hashes the images, maps the names onto the benchmark's class list and merges
all sources into one Manifest. Readers never decode images for pixels and never write anything.

Adding a format = one file here with `@register_source("name", kind=..., sniff=...)` on a function
`read(spec: SourceSpec, problems: Problems) -> SourceResult`. Nothing else: the package's modules are discovered
(every module not starting with `_` is imported), and the decorator records what the rest of the harness asks of a
reader: whether it yields boxes (`box_readers()`, so a config can default its detector's labels to a box source) and
how to recognise its files (`sniff(path)`, so `data inspect` can read a bare dataset without `--reader`).
"""

from __future__ import annotations

import importlib
import pkgutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.data.archive import NOT_A_ZIP
from benchmarks.data.images import IMAGE_SUFFIXES  # noqa: F401  (re-exported: the readers import it from here)
from benchmarks.data.problems import DataError, Problems


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
Sniffer = Callable[[Path], bool]
KINDS = ("labels", "boxes")  # what a reader yields: SourceResult.kind
DEFAULT_PRIORITY = 100  # a reader that does not say where it sniffs goes after the built-in ones


@dataclass(frozen=True)
class ReaderEntry:
    name: str
    read: Reader
    kind: str  # "labels" (image-level only) or "boxes"; every SourceResult it returns has this kind
    # path -> True when the path looks like this reader's input (a file or folder of a bare dataset); None: the
    # reader is never guessed, only named (`--reader` or a config's `reader:`)
    sniff: Sniffer | None
    priority: int  # sniffing order, lowest first: a more specific rule must run before a looser one that also fits


_READERS: dict[str, ReaderEntry] = {}


def register_source(
    name: str, *, kind: str, sniff: Sniffer | None = None, priority: int = DEFAULT_PRIORITY
) -> Callable[[Reader], Reader]:
    if kind not in KINDS:
        raise ValueError(f"source reader {name!r}: kind {kind!r} is not one of {', '.join(KINDS)}")
    if sniff is not None and not callable(sniff):
        raise ValueError(f"source reader {name!r}: sniff must be a function path -> bool, or None")

    def deco(fn: Reader) -> Reader:
        if name in _READERS:
            raise ValueError(
                f"source reader {name!r} registered twice ({_READERS[name].read.__module__}, {fn.__module__})"
            )
        _READERS[name] = ReaderEntry(name, fn, kind, sniff, priority)
        return fn

    return deco


def _load_all() -> None:
    """Import every reader module of this package (sorted by name, so the import order never depends on the file
    system); each registers itself on import. Modules starting with `_` are helpers, not readers."""
    for mod in sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")):
        importlib.import_module(f"{__name__}.{mod}")


def list_readers() -> list[str]:
    _load_all()
    return sorted(_READERS)


def get_reader(name: str) -> ReaderEntry:
    _load_all()
    if name not in _READERS:
        raise DataError(f"unknown source reader {name!r}; valid readers: {', '.join(sorted(_READERS))}")
    return _READERS[name]


def get_source(name: str) -> Reader:
    return get_reader(name).read


def box_readers() -> list[str]:
    """Names of the readers that yield boxes (sorted)."""
    return [name for name in list_readers() if _READERS[name].kind == "boxes"]


def sniff(path: Path | str) -> str | None:
    """The reader whose sniffing rule recognises `path` (the first by priority, then name), or None."""
    _load_all()
    p = Path(path)
    for entry in sorted(_READERS.values(), key=lambda e: (e.priority, e.name)):
        if entry.sniff is not None and entry.sniff(p):
            return entry.name
    return None


def zip_names(path: Path) -> set[str]:
    """The file names (without folders) inside a zip, for sniffing rules; a file that is no readable zip is a user
    error naming it."""
    try:
        with zipfile.ZipFile(path) as zf:
            return {Path(n).name for n in zf.namelist()}
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(NOT_A_ZIP.format(path=path) + f" ({exc})") from None


def read_source(spec: SourceSpec, problems: Problems) -> SourceResult:
    entry = get_reader(spec.reader)
    result = entry.read(spec, problems)
    if result.kind != entry.kind:  # box_readers() trusts the registered kind: a reader must keep its word
        raise ValueError(
            f"source reader {entry.name!r} ({entry.read.__module__}) is registered with kind {entry.kind!r} but "
            f"returned {result.kind!r}; fix its register_source(kind=...)"
        )
    return result
