"""Listing image files in a folder tree, for the source readers: hidden and non-image files are skipped and counted.

Only names are looked at here (the suffix); whether a file really decodes is checked once, in build.py.
"""

from __future__ import annotations

import os
from pathlib import Path

from benchmarks.data.problems import Problems
from benchmarks.data.sources import IMAGE_SUFFIXES

# OS droppings that sit in photo folders: Finder, Windows Explorer thumbnails/settings, Picasa
SYSTEM_FILES = frozenset({".ds_store", "thumbs.db", "ehthumbs.db", "desktop.ini", ".picasa.ini", "icon\r"})


def is_hidden(path: Path) -> bool:
    """Dot files (incl. macOS `._x.jpg` resource forks, `.git`) and OS thumbnails/settings files."""
    return path.name.startswith(".") or path.name.lower() in SYSTEM_FILES


def is_image_name(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def list_images(root: Path, problems: Problems, source: str = "") -> list[Path]:
    """Every image file under `root` (recursive, sorted, symlinked folders not followed).

    Hidden files and folders are skipped and counted as `hidden_file`; other files without an image suffix as
    `not_an_image`. Both are `skip` problems, so `data inspect` shows what was left out and where.
    """
    who = f"source '{source}': " if source else ""
    out: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        for d in sorted(dirnames):
            if is_hidden(here / d):
                problems.add("skip", "hidden_file", here / d, f"{who}hidden folder skipped with everything in it")
        dirnames[:] = sorted(d for d in dirnames if not is_hidden(here / d))
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
