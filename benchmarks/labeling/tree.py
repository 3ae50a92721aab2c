"""A sorted tree: `SORTED_DIR/<label>/<image>`; an image in two label folders has two labels.

An image is identified by its file name, which a file manager's copy, move and link keep. Files that are not
images, files at the tree's root (not sorted yet) and folders not in `classes` (when given) are ignored and counted.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

# Exactly the formats the data readers read (one list, benchmarks/data/images.py): a file the folders reader skips
# must not count as labeling work here.
from benchmarks.data.images import IMAGE_SUFFIXES


def classify(path: Path, root: Path, classes: set[str] | None) -> tuple[str | None, str]:
    """(label, "") for a labeled image, else (None, why-ignored)."""
    try:
        rel = Path(path).relative_to(root)
    except ValueError:
        return None, "outside_tree"
    if len(rel.parts) < 2:
        return None, "not_in_label_folder"
    if any(part.startswith(".") for part in rel.parts):
        return None, "hidden"  # file managers' temporary files, .DS_Store, .Trash
    if rel.suffix.lower() not in IMAGE_SUFFIXES:
        return None, "not_an_image"
    label = rel.parts[0]
    if classes is not None and label not in classes:
        return None, "unknown_label_folder"
    return label, ""


@dataclass
class TreeState:
    pairs: set[tuple[str, str]] = field(default_factory=set)  # (image name, label)
    ignored: Counter = field(default_factory=Counter)  # reason -> files

    @property
    def images(self) -> set[str]:
        return {name for name, _ in self.pairs}


def scan_tree(root: Path, classes: list[str] | None = None) -> TreeState:
    root = Path(root)
    allowed = set(classes) if classes else None
    state = TreeState()
    for path in sorted(root.rglob("*")):
        if path.is_dir():
            continue
        label, why = classify(path, root, allowed)
        if label is None:
            state.ignored[why] += 1
        else:
            state.pairs.add((path.name, label))
    return state
