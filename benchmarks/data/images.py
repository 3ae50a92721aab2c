"""What an image is, decided once: the formats, the size as displayed, and listing image files in a folder tree.

Only names are looked at when listing (the suffix); whether a file really decodes is checked once, in build.py,
with PIL, the decoder the classifier falls back to (classifier/data.py), so what passes `data inspect` trains.
"""

from __future__ import annotations

import os
from pathlib import Path

from benchmarks.data.problems import Problems

# The one list of image formats: PIL decodes them (build.py, `data inspect`), torchvision or its PIL fallback in
# the classifier, OpenCV in Ultralytics (its IMG_FORMATS holds all of them). HEIC/GIF/DNG/MPO are left out: PIL
# or OpenCV read them only with plugins or as a first frame. The folder watcher counts exactly these.
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})

# EXIF Orientation values that swap width and height (TIFF 6.0 tag 0x0112: 5-8 turn the image by 90 degrees).
# Every decoder here shows an image as viewers and CVAT do: torchvision `apply_exif_orientation=True`, OpenCV's
# imread (Ultralytics), PIL's exif_transpose in the fallback. So sizes and boxes are in displayed coordinates.
ORIENTATION_TAG = 0x0112
EXIF_ROTATED = {5, 6, 7, 8}


def displayed_size(im) -> tuple[int, int, int]:
    """(width, height, EXIF orientation) of an open PIL image as it is displayed (1 = no orientation tag)."""
    try:
        orientation = int(im.getexif().get(ORIENTATION_TAG, 1) or 1)
    except Exception:  # a broken EXIF block: viewers ignore it, and so do the decoders
        orientation = 1
    w, h = im.size
    return (h, w, orientation) if orientation in EXIF_ROTATED else (w, h, orientation)


def header_size(path: Path) -> tuple[int, int, int] | None:
    """displayed_size from the header only (no decode); None when the file is missing or unreadable (build.py
    counts it as missing_image or corrupt_image)."""
    # deferred: PIL is heavy
    from PIL import Image

    try:
        with Image.open(path) as im:
            return displayed_size(im)
    except Exception:
        return None


# OS droppings that sit in photo folders: Finder, Windows Explorer thumbnails/settings, Picasa
SYSTEM_FILES = frozenset({".ds_store", "thumbs.db", "ehthumbs.db", "desktop.ini", ".picasa.ini", "icon\r"})


def is_hidden(path: Path) -> bool:
    """Dot files (incl. macOS `._x.jpg` resource forks, `.git`) and OS thumbnails/settings files."""
    return path.name.startswith(".") or path.name.lower() in SYSTEM_FILES


def is_image_name(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def list_images(root: Path, problems: Problems, source: str = "") -> list[Path]:
    """Every image file under `root` (recursive, sorted). Symlinked folders are followed, as a symlinked class
    folder is (DVC, git-annex and `cp -s` trees are links); one that leads back to a folder already read (a loop,
    or a second link to the same folder) is skipped and counted as `symlink_loop`.

    Hidden files and folders are skipped and counted as `hidden_file`; other files without an image suffix as
    `not_an_image`. All are `skip` problems, so `data inspect` shows what was left out and where.
    """
    who = f"source '{source}': " if source else ""
    out: list[Path] = []
    seen = {os.path.realpath(root)}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        here = Path(dirpath)
        keep = []
        for d in sorted(dirnames):
            if is_hidden(here / d):
                problems.add("skip", "hidden_file", here / d, f"{who}hidden folder skipped with everything in it")
                continue
            real = os.path.realpath(here / d)
            if real in seen:
                problems.add(
                    "skip",
                    "symlink_loop",
                    here / d,
                    f"{who}link to a folder already read ({real}); skipped so no image is read twice or forever",
                    fix="remove the link, or link each folder once",
                )
                continue
            seen.add(real)
            keep.append(d)
        dirnames[:] = keep
        for name in sorted(filenames):
            p = here / name
            if is_hidden(p):
                problems.add("skip", "hidden_file", p, f"{who}hidden or system file skipped")
            elif not is_image_name(p):
                problems.add(
                    "skip",
                    "not_an_image",
                    p,
                    f"{who}not an image file (suffix {p.suffix or 'none'!r}); skipped",
                    fix=f"image suffixes are {', '.join(sorted(IMAGE_SUFFIXES))}; move other files out of the folder",
                )
            else:
                out.append(p)
    return out


class ImageIndex:
    """Finds an image under a folder by an id as label lists write it: a relative path or a file name, with or
    without the extension (`cat_001`, `cat_001.jpg`, `sub/cat_001.jpg`)."""

    def __init__(self, root: Path, paths: list[Path]):
        self.root = root
        self._rel: dict[str, Path] = {}
        self._keys: dict[str, list[Path]] = {}
        for p in paths:
            rel = p.relative_to(root).as_posix()
            self._rel[rel] = p
            for k in dict.fromkeys([rel.rsplit(".", 1)[0], p.name, p.stem]):
                self._keys.setdefault(k, []).append(p)

    def find(self, image_id: str) -> list[Path]:
        """All files the id can mean (0: no match, 2+: ambiguous); an exact relative path wins."""
        key = image_id.strip().replace("\\", "/").removeprefix("./")
        if key in self._rel:
            return [self._rel[key]]
        return list(dict.fromkeys(self._keys.get(key, [])))


def check_options(
    spec,
    allowed: dict[str, type | tuple[type, ...]],
    problems: Problems,
    defaults: dict | None = None,
    choices: dict[str, tuple] | None = None,
) -> dict:
    """The reader's `options:` checked against {name: type} (and `choices`, where a key has a fixed set of values):
    a typo, a wrong type or value is a fatal problem naming the key (a silently ignored `seperator:` would give
    wrong labels). Returns `defaults` updated with the options that passed."""
    good = dict(defaults or {})
    for key, value in (spec.options or {}).items():
        fix = f"fix `sources.{spec.name}.options` in the config"
        if key not in allowed:
            names = ", ".join(sorted(allowed)) or "none"
            problems.add(
                "fatal",
                "bad_option",
                spec.path,
                f"reader {spec.reader!r} has no option {key!r}; options: {names}",
                fix=fix,
            )
        elif value is not None and not isinstance(value, allowed[key]):
            problems.add(
                "fatal",
                "bad_option",
                spec.path,
                f"option {key!r} = {value!r} has the wrong type (expected {_type_names(allowed[key])})",
                fix=fix,
            )
        elif choices and key in choices and value not in choices[key]:
            problems.add(
                "fatal",
                "bad_option",
                spec.path,
                f"option {key!r} = {value!r}; allowed values: {', '.join(map(str, choices[key]))}",
                fix=fix,
            )
        else:
            good[key] = value
    return good


def _type_names(tp) -> str:
    return " or ".join(t.__name__ for t in (tp if isinstance(tp, tuple) else (tp,)))
