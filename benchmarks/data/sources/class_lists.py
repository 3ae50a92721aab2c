"""Per-class id lists: `annotations/<class>.txt`, one image id per line (the Oxford/VOC "image set" habit).

    sources:
      lists: {reader: class_lists, path: my_dataset, images: my_dataset/images}
      # my_dataset/annotations/cat.txt:  cat_001.jpg | cat_001 | sub/cat_001.jpg   (one per line, '#' = comment)

- `path` is the folder holding `annotations/`, or that folder itself. The class name is the file's stem.
- An id is a file name with or without its extension, or a path relative to `images:` (default: `path/images`).
- Images under `images:` in no list are negatives; the source is exhaustive (in no list = 0).
- An id that matches no image, or several (`a.jpg` and `a.png` for id `a`), is skipped and counted with file and line.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.data.images import ImageIndex, check_options, is_hidden, list_images
from benchmarks.data.problems import Problems
from benchmarks.data.sources import SourceResult, SourceRow, SourceSpec, register_source
from benchmarks.data.text import read_text


def _lists_dir(path: Path) -> Path:
    return path / "annotations" if (path / "annotations").is_dir() else path


def _images_dir(spec: SourceSpec, problems: Problems) -> Path | None:
    if spec.images:
        images = Path(spec.images)
    elif (Path(spec.path) / "images").is_dir():
        images = Path(spec.path) / "images"
    else:
        problems.add(
            "fatal",
            "images_required",
            spec.path,
            f"source '{spec.name}': class lists name ids, not files; where the images are is unknown",
            fix=f"set `sources.{spec.name}.images` to the image folder",
        )
        return None
    if not images.is_dir():
        problems.add(
            "fatal",
            "source_missing",
            images,
            f"source '{spec.name}': images folder {images} does not exist",
            fix=f"fix `sources.{spec.name}.images` in the config",
        )
        return None
    return images


def looks_like_class_lists(path: Path) -> bool:
    """A folder with an `annotations/` folder in it (its per-class lists); after cvat_coco, which has one too."""
    return path.is_dir() and (path / "annotations").is_dir()


@register_source("class_lists", kind="labels", sniff=looks_like_class_lists, priority=60)
def read(spec: SourceSpec, problems: Problems) -> SourceResult:
    check_options(spec, {}, problems)
    lists_dir = _lists_dir(Path(spec.path))
    origin = str(lists_dir)
    if not lists_dir.is_dir():
        problems.add(
            "fatal",
            "not_a_folder",
            lists_dir,
            f"source '{spec.name}': the class_lists reader needs a folder of <class>.txt files, got a file",
            fix="point `path:` at the folder holding annotations/<class>.txt",
        )
        return SourceResult([], [], origin=origin)
    images = _images_dir(spec, problems)
    if images is None:
        return SourceResult([], [], origin=origin)
    paths = list_images(images, problems, spec.name)
    index = ImageIndex(images, paths)

    labels: dict[Path, dict[str, int]] = {p: {} for p in paths}
    where: dict[Path, str] = {}
    vocabulary: list[str] = []
    for f in sorted(lists_dir.iterdir()):
        if is_hidden(f) or f.is_dir():
            continue
        if f.suffix.lower() != ".txt":
            problems.add(
                "skip",
                "not_a_class_list",
                f,
                f"source '{spec.name}': not a .txt class list; skipped",
                fix="class lists are <class>.txt files; move other files out of the folder",
            )
            continue
        cls = f.stem
        vocabulary.append(cls)
        for no, raw in enumerate(read_text(f).splitlines(), start=1):
            image_id = raw.strip()
            if not image_id or image_id.startswith("#"):
                continue
            found = index.find(image_id)
            if len(found) != 1:
                what = "matches no image" if not found else f"matches {len(found)} images ({found[0].name}, ...)"
                problems.add(
                    "skip",
                    "unknown_id" if not found else "ambiguous_id",
                    f,
                    f"source '{spec.name}': id {image_id!r} {what} in {images}; skipped",
                    line=no,
                    fix="write the file name with its extension, or the path relative to the images folder",
                )
                continue
            labels.setdefault(found[0], {})[cls] = 1
            where.setdefault(found[0], f"{f}:{no}")
    if not vocabulary:
        problems.add(
            "fatal",
            "source_empty",
            lists_dir,
            f"source '{spec.name}': no <class>.txt files here",
            fix="point `path:` at the folder holding annotations/<class>.txt",
        )
    rows = [SourceRow(p, lab, where=where.get(p, str(p))) for p, lab in labels.items()]
    return SourceResult(rows, vocabulary, kind="labels", exhaustive=True, origin=origin)
