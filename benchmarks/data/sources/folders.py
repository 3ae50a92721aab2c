"""Label folders: `path/<class>/...` — sorting images into folders is the labeling.

    sources:
      folders:
        reader: folders
        path: sorted            # sorted/circle/a.jpg, sorted/square/b.jpg, sorted/circle+square/c.jpg
        images: unsorted        # optional: the full image set; an image here in no label folder is a negative
        options: {separator: "+", negative_folder: _none}

Rules (each chosen so that a folder tree means one thing):
- Every top-level folder of `path` is a label; files nested deeper in it count for that top folder (sub-folders are
  how people batch their work, not a second label).
- `separator` (default "+", "" turns it off): `red+creature/` labels its images red AND creature.
- The same photo in several folders is one image with several labels: one row per file here, build.py merges
  the rows by content hash. That is also how an `images:` file is matched to its sorted copy.
- `negative_folder` (default none): a folder meaning "none of the classes", e.g. `_none/`; its images are negatives.
  A photo also sorted into a class folder keeps that label (a yes beats the explicit no).
- Exhaustive: a class an image was not sorted into is a 0, since the labeler saw every folder.
- Images directly in `path` (in no folder) are skipped and counted; so are hidden files and non-image files.
- Symlinked folders are followed at every depth (DVC, git-annex, `cp -s` trees); a link back to a folder already
  read (a loop) is skipped and counted as `symlink_loop`.
- The `images:` folder may sit inside `path` (`sorted/unsorted/`): it is then not a label folder.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.data.images import check_options, is_hidden, is_image_name, list_images
from benchmarks.data.problems import Problems
from benchmarks.data.sources import IMAGE_SUFFIXES, SourceResult, SourceRow, SourceSpec, register_source


def folder_labels(name: str, separator: str) -> list[str]:
    """Class names a folder name stands for: `red+creature` -> [red, creature] with separator "+"."""
    parts = name.split(separator) if separator else [name]
    return list(dict.fromkeys(p.strip() for p in parts if p.strip()))


def looks_like_folders(path: Path) -> bool:
    """A folder with a sub-folder holding an image file directly. Sniffed last: nearly every dataset folder has
    one (`images/`), so every more specific rule must have had its turn."""
    return path.is_dir() and any(
        d.is_dir() and any(f.suffix.lower() in IMAGE_SUFFIXES for f in d.iterdir()) for d in path.iterdir()
    )


@register_source("folders", kind="labels", sniff=looks_like_folders, priority=70)
def read(spec: SourceSpec, problems: Problems) -> SourceResult:
    opts = check_options(spec, {"separator": str, "negative_folder": str}, problems)
    separator = opts.get("separator")
    separator = "+" if separator is None else separator
    negative = opts.get("negative_folder") or None
    root = Path(spec.path)
    if not root.is_dir():
        problems.add(
            "fatal",
            "not_a_folder",
            root,
            f"source '{spec.name}': the folders reader needs a folder of label folders, got a file",
            fix="point `path:` at the folder that holds one sub-folder per class",
        )
        return SourceResult([], [], origin=str(root))
    images_dir = Path(spec.images).resolve() if spec.images else None

    rows: list[SourceRow] = []
    vocabulary: list[str] = []
    for entry in sorted(root.iterdir()):
        if is_hidden(entry):
            problems.add("skip", "hidden_file", entry, f"source '{spec.name}': hidden file or folder skipped")
            continue
        if entry.is_dir() and images_dir is not None and entry.resolve() == images_dir:
            continue  # the unsorted pool, listed below
        if not entry.is_dir():
            if is_image_name(entry):
                problems.add(
                    "skip",
                    "not_in_label_folder",
                    entry,
                    f"source '{spec.name}': image directly in {root}, in no label folder; skipped",
                    fix="move it into a class folder, or into the `images:` folder if it is unlabeled",
                )
            else:
                problems.add(
                    "skip",
                    "not_an_image",
                    entry,
                    f"source '{spec.name}': not an image file, in no label folder; skipped",
                    fix="label folders hold images only; move other files elsewhere",
                )
            continue
        if negative is not None and entry.name == negative:
            labels: list[str] = []
        else:
            labels = folder_labels(entry.name, separator)
            if not labels:
                problems.add(
                    "skip",
                    "bad_folder_name",
                    entry,
                    f"source '{spec.name}': folder name {entry.name!r} names no class (separator {separator!r})",
                    fix="rename the folder to a class name",
                )
                continue
            vocabulary.extend(c for c in labels if c not in vocabulary)
        for p in list_images(entry, problems, spec.name):
            rows.append(SourceRow(p, {c: 1 for c in labels}, where=str(p)))

    if images_dir is not None and images_dir != root.resolve():
        if images_dir.is_dir():
            rows.extend(SourceRow(p, {}, where=str(p)) for p in list_images(images_dir, problems, spec.name))
        else:
            problems.add(
                "fatal",
                "source_missing",
                images_dir,
                f"source '{spec.name}': images folder {images_dir} does not exist",
                fix=f"fix `sources.{spec.name}.images` in the config, or remove it",
            )
    return SourceResult(rows, vocabulary, kind="labels", exhaustive=True, origin=str(root))
