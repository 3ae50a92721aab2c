"""A labels table: one row per image, one 1/0/NA cell per class.

    # image circle square triangle        <- header: '#' line, or a first row whose cells are not 1/0/NA
    a.jpg 1 0 NA
    sub/b.png,0,1,1                      <- comma-separated rows work too (needed for names with spaces)

    sources:
      table: {reader: labels_txt, path: labels.txt, images: photos, options: {classes: [circle, square, triangle]}}

- Class names come from the header, else from `options.classes`; when both exist they must agree.
- Image paths are relative to `images:` when given, else to the labels file's folder (absolute paths work).
- NA means "not looked at": that class stays NA for the image (not exhaustive), never a 0.
- A row with the wrong number of cells or a value other than 1/0/NA is fatal, with the file and line.
- The same image on two rows is merged by build.py; conflicting values are reported there (`conflicting_labels`).
"""

from __future__ import annotations

import csv
from pathlib import Path

from benchmarks.data.images import check_options
from benchmarks.data.problems import Problems
from benchmarks.data.sources import SourceResult, SourceRow, SourceSpec, register_source
from benchmarks.data.text import read_text

VALUES = {"1": 1, "0": 0, "na": None}
DEFAULT_NAMES = ("labels.txt", "labels.csv", "labels.tsv")


def _cells(line: str) -> list[str]:
    if "," in line:
        return [c.strip() for c in next(csv.reader([line]))]
    return line.split()


def _is_value(cell: str) -> bool:
    return cell.lower() in VALUES


def _is_header(cells: list[str]) -> bool:
    """A header names classes: no cell is a value or a number (so `a.jpg 1 2 0`, a typo, is a bad row, not a header)."""
    return len(cells) >= 2 and not any(_is_value(c) or _is_number(c) for c in cells[1:])


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _find_file(spec: SourceSpec, problems: Problems) -> Path | None:
    path = Path(spec.path)
    if path.is_file():
        return path
    for name in DEFAULT_NAMES:
        if (path / name).is_file():
            return path / name
    problems.add(
        "fatal",
        "source_missing",
        path,
        f"source '{spec.name}': no labels file ({' / '.join(DEFAULT_NAMES)}) in this folder",
        fix="point `path:` at the labels file itself",
    )
    return None


def looks_like_labels_txt(path: Path) -> bool:
    """Any .txt file (a folder of .txt lists is class_lists)."""
    return path.suffix.lower() == ".txt"


@register_source("labels_txt", kind="labels", sniff=looks_like_labels_txt, priority=50)
def read(spec: SourceSpec, problems: Problems) -> SourceResult:
    opts = check_options(spec, {"classes": list}, problems)
    file = _find_file(spec, problems)
    if file is None:
        return SourceResult([], [], exhaustive=False, origin=str(spec.path))
    base = Path(spec.images) if spec.images else file.parent
    if not base.is_dir():
        problems.add(
            "fatal",
            "source_missing",
            base,
            f"source '{spec.name}': images folder {base} does not exist",
            fix=f"fix `sources.{spec.name}.images` in the config",
        )
        return SourceResult([], [], exhaustive=False, origin=str(file))
    lines = read_text(file).splitlines()

    header: list[str] | None = None
    header_line = 0
    body: list[tuple[int, list[str]]] = []
    configured = [str(c) for c in opts.get("classes") or []]
    first = True
    for no, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            cells = _cells(line[1:])
            # only the file's first line can be a '#' header (the first cell names the image column); with
            # `options.classes` set, a first line of another width is a comment such as "# exported by ..."
            if first and _is_header(cells) and (not configured or len(cells) == len(configured) + 1):
                header, header_line = cells[1:], no
            first = False
            continue
        first = False
        cells = _cells(line)
        if header is None and not body and _is_header(cells):
            header, header_line = cells[1:], no
            continue
        body.append((no, cells))

    if header is not None and configured and header != configured:
        problems.add(
            "fatal",
            "header_mismatch",
            file,
            f"the header names classes {header}, `options.classes` says {configured}",
            line=header_line,
            fix="make them agree, or drop `options.classes` (the header is enough)",
        )
    classes = header if header is not None else configured
    if not classes:
        problems.add(
            "fatal",
            "no_class_names",
            file,
            "no header row and no `options.classes`: which column is which class is unknown",
            fix=f"add a first line `# image <class1> <class2> ...`, or set `sources.{spec.name}.options.classes`",
        )
        return SourceResult([], [], exhaustive=False, origin=str(file))
    if len(set(classes)) != len(classes):
        dupes = sorted({c for c in classes if classes.count(c) > 1})
        problems.add("fatal", "duplicate_class", file, f"class column(s) {dupes} appear twice", fix="rename them")

    rows: list[SourceRow] = []
    want = 1 + len(classes)
    for no, cells in body:
        if len(cells) != want:
            problems.add(
                "fatal",
                "bad_row",
                file,
                f"{len(cells)} cells, expected {want} (image + {', '.join(classes)}): {' '.join(cells)!r}",
                line=no,
                fix="one image path then one 1/0/NA per class; use commas if the file name contains spaces",
            )
            continue
        bad = [(c, v) for c, v in zip(classes, cells[1:]) if not _is_value(v)]
        if bad:
            shown = ", ".join(f"{c}={v!r}" for c, v in bad)
            problems.add(
                "fatal",
                "bad_value",
                file,
                f"value(s) other than 1/0/NA: {shown}",
                line=no,
                fix="write 1 (present), 0 (absent) or NA (not looked at)",
            )
            continue
        labels = {c: VALUES[v.lower()] for c, v in zip(classes, cells[1:]) if VALUES[v.lower()] is not None}
        image = cells[0].replace("\\", "/")  # lists written on Windows
        rows.append(SourceRow(base / image, labels, where=f"{file}:{no}"))
    return SourceResult(rows, list(dict.fromkeys(classes)), kind="labels", exhaustive=False, origin=str(file))
