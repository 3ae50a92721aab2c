"""CVAT "CVAT for images 1.1" exports: `annotations.xml` (+ optional `images/`), as a zip or a folder.

Format: https://docs.cvat.ai/docs/manual/advanced/xml_format/ and CVAT's own writer,
cvat/apps/dataset_manager/formats/cvat.py (`dump_as_cvat_annotation`): `<meta>` holds `<job>`, `<task>` or
`<project>` (with `<tasks>`) and the declared `<labels>`; each `<image id name width height [subset task_id]>`
holds `<box xtl ytl xbr ybr [rotation]>`, `<polygon|polyline|points points="x,y;x,y">`,
`<ellipse cx cy rx ry [rotation]>`, `<mask rle left top width height>`, `<skeleton>` (child `<points>`),
`<cuboid>` and `<tag>`. Project exports put images under `images/<subset>/`.

Boxes are kept (rotated ones as their enclosing axis-aligned box); other shapes become their enclosing box or are
skipped (`options.shapes: box|skip`), counted either way; tags are image-level labels. A skipped shape still says
its class is present (label 1), and its image is marked box-incomplete so the detector does not learn the object
as background. A shape with unusable coordinates (missing, non-numeric, nan, inf) is skipped and counted; its
class is NA on that image unless another shape says 1, and the image is box-incomplete too.
"""

from __future__ import annotations

import math
from pathlib import Path
from xml.etree.ElementTree import Element, ParseError

import defusedxml
from defusedxml.ElementTree import iterparse

from benchmarks.data.archive import UNSAFE_FIX, Export, ImageFinder
from benchmarks.data.images import check_options
from benchmarks.data.problems import Problems
from benchmarks.data.sources import SourceBox, SourceResult, SourceRow, SourceSpec, register_source, zip_names

SHAPES = ("polygon", "polyline", "points", "ellipse", "mask", "skeleton", "cuboid")
LABEL_FIX = "add the label to the task/project in CVAT (Labels) and export again, or delete the shape"


# --- geometry: every shape -> (x1, y1, x2, y2) in pixels ---------------------------------------------------------
def rotated_box(x1: float, y1: float, x2: float, y2: float, degrees: float) -> tuple[float, float, float, float]:
    """Axis-aligned box enclosing the rectangle turned by `degrees` about its centre (CVAT's rotation)."""
    cx, cy, hw, hh = (x1 + x2) / 2, (y1 + y2) / 2, abs(x2 - x1) / 2, abs(y2 - y1) / 2
    c, s = abs(math.cos(math.radians(degrees))), abs(math.sin(math.radians(degrees)))
    ex, ey = hw * c + hh * s, hw * s + hh * c
    return cx - ex, cy - ey, cx + ex, cy + ey


def points_box(xs: list[float], ys: list[float]) -> tuple[float, float, float, float]:
    """Enclosing box of points; ValueError on a nan/inf point (min/max would skip a nan silently, depending on
    where it sits in the list)."""
    finite((*xs, *ys))
    return min(xs), min(ys), max(xs), max(ys)


def finite(box: tuple[float, ...]) -> tuple[float, ...]:
    """The box, or ValueError when a coordinate is nan or inf: float() accepts "nan"/"inf", and min/max would then
    make a full-width box out of them."""
    if not all(math.isfinite(v) for v in box):
        raise ValueError(f"non-finite coordinate in {tuple(box)}")
    return box


def _points(text: str) -> tuple[list[float], list[float]]:
    pairs = [p.split(",") for p in text.strip().split(";") if p.strip()]
    if not pairs or any(len(p) != 2 for p in pairs):
        raise ValueError(f"points={text!r} is not 'x,y;x,y;...'")
    return [float(p[0]) for p in pairs], [float(p[1]) for p in pairs]


def shape_box(el: Element) -> tuple[float, float, float, float] | None:
    """Enclosing box of a non-box shape; None for a skeleton whose points are all outside. ValueError if bad."""
    a = el.attrib
    if el.tag in ("polygon", "polyline", "points"):
        return points_box(*_points(a["points"]))
    if el.tag == "ellipse":
        cx, cy, rx, ry = (float(a[k]) for k in ("cx", "cy", "rx", "ry"))
        t = math.radians(float(a.get("rotation", 0)))
        # half-extents of an ellipse with semi-axes rx, ry turned by t
        ex, ey = math.hypot(rx * math.cos(t), ry * math.sin(t)), math.hypot(rx * math.sin(t), ry * math.cos(t))
        return cx - ex, cy - ey, cx + ex, cy + ey
    if el.tag == "mask":
        # CVAT crops a mask to its bounding box: width = right - left + 1 pixels, so the box ends at left + width
        left, top, w, h = (int(float(a[k])) for k in ("left", "top", "width", "height"))
        return float(left), float(top), float(left + w), float(top + h)
    if el.tag == "cuboid":
        keys = [k for k in a if k[:1] in "xy" and k[-1:] in "12" and k[1:3] in ("tl", "bl", "tr", "br")]
        return points_box([float(a[k]) for k in keys if k[0] == "x"], [float(a[k]) for k in keys if k[0] == "y"])
    if el.tag == "skeleton":
        xs: list[float] = []
        ys: list[float] = []
        for child in el:
            if child.tag == "points" and child.get("outside", "0") != "1":
                px, py = _points(child.attrib["points"])
                xs += px
                ys += py
        return points_box(xs, ys) if xs else None
    raise ValueError(f"unknown shape <{el.tag}>")


# --- options ------------------------------------------------------------------------------------------------------
OPTIONS = {"shapes": str, "cache_dir": str}
DEFAULTS = {"shapes": "box", "cache_dir": None}
CHOICES = {"shapes": ("box", "skip")}


def cvat_options(spec: SourceSpec, problems: Problems, allowed: dict | None = None) -> dict:
    """The CVAT readers' options with their defaults; a bad key or value is a fatal problem (images.check_options)."""
    allowed = OPTIONS if allowed is None else allowed
    return check_options(spec, allowed, problems, defaults={k: DEFAULTS[k] for k in allowed}, choices=CHOICES)


# --- the XML ------------------------------------------------------------------------------------------------------
def _labels(meta: Element) -> list[str]:
    """Declared labels (project, task or job), without skeleton sub-labels (those carry a <parent>)."""
    names = []
    for label in meta.iter("label"):
        name = label.findtext("name")
        if name is not None and not (label.findtext("parent") or "").strip():
            names.append(name)
    return list(dict.fromkeys(names))


def parse(stream, file: str, problems: Problems) -> tuple[list[str], list[Element]] | None:
    """(declared labels, <image> elements), or None after a fatal problem (malformed or refused XML)."""
    labels: list[str] = []
    images: list[Element] = []
    try:
        # forbid_dtd: an export never needs a DTD, and entity declarations are the "billion laughs" / XXE vector
        for _event, el in iterparse(stream, events=("end",), forbid_dtd=True):
            if el.tag == "meta":
                labels = _labels(el)
            elif el.tag == "image":
                images.append(el)
            elif el.tag == "track":
                problems.add(
                    "fatal",
                    "unsupported_format",
                    file,
                    "this is a 'CVAT for video' export (<track> elements)",
                    fix="export the task as 'CVAT for images 1.1'",
                )
                return None
    except ParseError as exc:
        line, col = getattr(exc, "position", (None, None))
        problems.add("fatal", "malformed_xml", file, f"not well-formed XML at line {line}, column {col}: {exc}", line)
        return None
    except defusedxml.DefusedXmlException as exc:
        problems.add(
            "fatal",
            "xml_refused",
            file,
            f"refused: the XML declares a DTD or entities ({type(exc).__name__}); CVAT never writes them",
            fix="re-export the annotations from CVAT; do not feed hand-edited XML with <!DOCTYPE>/<!ENTITY>",
        )
        return None
    return labels, images


def _declared(text: str | None) -> int | str | None:
    """A declared width or height as written: None when absent, an int when it is one (0 and negatives kept, so the
    builder counts them against the file's real size), else the text itself."""
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        return text


def _image_row(el, file: str, declared: set, finder: ImageFinder, opts: dict, problems: Problems) -> SourceRow | None:
    name = el.get("name", "")
    where = f'{file} <image id="{el.get("id")}" name="{name}">'
    if not name:
        problems.add("fatal", "bad_image", where, "<image> has no name attribute", fix="re-export from CVAT")
        return None
    subset = el.get("subset")
    candidates = [f"{subset}/{name}", name] if subset and not name.startswith(f"{subset}/") else [name]
    path = finder.path(candidates)
    if path is None:
        problems.add("fatal", "unsafe_path", where, f"image name {name!r} escapes the image folder", fix=UNSAFE_FIX)
        return None
    row = SourceRow(path=path, where=where, width=_declared(el.get("width")), height=_declared(el.get("height")))
    for child in el:
        label = child.get("label")
        if child.tag not in ("box", "tag", *SHAPES):
            continue
        if label not in declared:
            problems.add(
                "fatal",
                "undeclared_label",
                where,
                f"<{child.tag}> has label {label!r}, which the export's <meta> does not declare "
                f"(declared: {', '.join(sorted(declared)) or 'none'})",
                fix=LABEL_FIX,
            )
            continue
        if child.tag == "tag":
            row.labels[label] = 1
            continue
        try:
            if child.tag == "box":
                box = tuple(float(child.attrib[k]) for k in ("xtl", "ytl", "xbr", "ybr"))
                degrees = float(child.get("rotation", 0) or 0)
                if degrees % 360:
                    box = rotated_box(*box, degrees)
                    problems.add(
                        "fix",
                        "rotated_box_enclosed",
                        where,
                        f"box {label} rotated {degrees:g} deg replaced by its enclosing axis-aligned box",
                    )
            elif opts["shapes"] == "skip":
                problems.add(
                    "skip",
                    "shape_skipped",
                    where,
                    f"<{child.tag}> {label} skipped (options.shapes: skip): {label} stays present on the image, "
                    "which is left out of detector training",
                )
                row.labels[label] = 1
                row.incomplete.add(label)
                continue
            else:
                box = shape_box(child)
                if box is None:
                    problems.add("skip", "shape_skipped", where, f"<skeleton> {label} has no visible points")
                    continue
                problems.add("fix", "shape_to_box", where, f"<{child.tag}> {label} turned into its enclosing box")
            box = finite(box)
        except (KeyError, ValueError, OverflowError) as exc:  # int(float("inf")) raises OverflowError
            problems.add(
                "skip",
                "bad_shape",
                where,
                f"<{child.tag}> {label}: bad or missing coordinates ({exc}); skipped, {label} is NA on this image "
                "unless another shape says it is there, and the image is left out of detector training",
                fix="fix or redraw the shape in CVAT and export again",
            )
            row.incomplete.add(label)
            continue
        row.boxes.append(SourceBox(label, *box))
    return row


def looks_like_cvat_xml(path: Path) -> bool:
    """A zip or folder holding `annotations.xml`, or any .xml file. Sniffed first: the CVAT formats name their
    annotation file, and an `annotations.xml` beside other files (a YAML, an `annotations/` folder) is this one."""
    if path.suffix.lower() == ".zip" and path.is_file():
        return "annotations.xml" in zip_names(path)
    if path.suffix.lower() == ".xml":
        return True
    return path.is_dir() and (path / "annotations.xml").is_file()


@register_source("cvat_xml", kind="boxes", sniff=looks_like_cvat_xml, priority=10)
def read(spec: SourceSpec, problems: Problems) -> SourceResult:
    opts = cvat_options(spec, problems)
    path = Path(spec.path)
    xml_given = path.is_file() and path.suffix.lower() == ".xml"
    with Export(path.parent if xml_given else path, problems) as export:
        member = path.name if xml_given else export.find("annotations.xml")
        if member is None:
            problems.add(
                "fatal",
                "annotations_missing",
                path,
                "no annotations.xml in the export",
                fix="export the task/job/project as 'CVAT for images 1.1', or point `path:` at the .xml file",
            )
            return SourceResult([], [], kind="boxes", exhaustive=True, origin=str(path))
        file = export.where(member)
        base = member.rpartition("/")[0]
        images_dir = f"{base}/images" if base else "images"
        with export.open(member) as stream:
            parsed = parse(stream, file, problems)
        if parsed is None:
            return SourceResult([], [], kind="boxes", exhaustive=True, origin=file)
        labels, images = parsed
        if not images:
            problems.add(
                "fatal",
                "empty_export",
                file,
                "export has no images",
                fix="check the task/job in CVAT has frames, and export it again",
            )
        cache = Path(opts["cache_dir"]) if opts["cache_dir"] else None
        finder = ImageFinder(export, spec.images, images_dir, cache, problems)
        declared = set(labels)
        rows = [r for el in images if (r := _image_row(el, file, declared, finder, opts, problems)) is not None]
        rows = finder.drop_ambiguous(rows)
    return SourceResult(rows, labels, kind="boxes", exhaustive=True, origin=file)
