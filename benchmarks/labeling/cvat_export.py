"""What a CVAT for images 1.1 export holds, for labeling cost: images, boxes, other shapes, tags, and the export's
own timestamps (a rough wall-clock figure).

Reading goes through the project's CVAT reader (`benchmarks.data.sources.cvat_xml.parse`, defusedxml, zip or folder
via `benchmarks.data.archive.Export`), so both agree on what an export is. Counting is this module's: every `<box>`
is a box (rotated ones too); polygons, masks, etc. are "other shapes", counted but not boxes; tags are labels.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from benchmarks.labeling.log_format import Event, parse_utc


@dataclass
class ExportCounts:
    origin: str
    n_images: int = 0
    n_boxes: int = 0
    n_tags: int = 0
    other_shapes: Counter = field(default_factory=Counter)  # tag name -> count
    pairs: set = field(default_factory=set)  # (image name, label) from boxes, shapes and tags
    boxes: list[Event] = field(default_factory=list)
    created: datetime | None = None  # earliest <created> in <meta> (job, task or project)
    updated: datetime | None = None  # latest <updated>
    meta_kind: str = ""  # "job" | "task" | "project"

    @property
    def rough_span_s(self) -> float | None:
        """updated - created: the time from the job's creation to its last save; includes every pause, so it is
        an upper bound on labeling time, never a measurement."""
        if self.created is None or self.updated is None:
            return None
        return max((self.updated - self.created).total_seconds(), 0.0)


def _meta_times(export, member: str, counts: ExportCounts) -> None:
    from defusedxml.ElementTree import iterparse

    with export.open(member) as stream:
        for _event, el in iterparse(stream, events=("end",), forbid_dtd=True):
            if el.tag != "meta":
                continue
            for kind in ("job", "task", "project"):
                node = el.find(kind)
                if node is None:
                    continue
                counts.meta_kind = counts.meta_kind or kind
                for tag, pick in (("created", min), ("updated", max)):
                    for text in [t.text for t in node.iter(tag) if t.text]:
                        value, _ = parse_utc(text)
                        old = getattr(counts, tag)
                        setattr(counts, tag, value if old is None else pick(old, value))
            return


def count_export(path: Path) -> ExportCounts:
    """Count an `annotations.xml`, a folder holding one, or a zip export."""
    from benchmarks.data.archive import Export
    from benchmarks.data.problems import Problems
    from benchmarks.data.sources.cvat_xml import SHAPES, parse

    path = Path(path)
    problems = Problems()
    xml_given = path.is_file() and path.suffix.lower() == ".xml"
    with Export(path.parent if xml_given else path, problems) as export:
        member = path.name if xml_given else export.find("annotations.xml")
        if member is None:
            fix = "export the job/task as 'CVAT for images 1.1' and pass the zip, the folder or the xml"
            problems.add("fatal", "annotations_missing", path, "no annotations.xml in the export", fix=fix)
            problems.raise_if_fatal()
        counts = ExportCounts(origin=export.where(member))
        with export.open(member) as stream:
            parsed = parse(stream, counts.origin, problems)
        problems.raise_if_fatal()
        _meta_times(export, member, counts)
    _labels, images = parsed
    counts.n_images = len(images)
    for image in images:
        name = image.get("name", "")
        for child in image:
            label = child.get("label")
            if child.tag == "box":
                counts.n_boxes += 1
                try:
                    box = [round(float(child.attrib[k]), 2) for k in ("xtl", "ytl", "xbr", "ybr")]
                except (KeyError, ValueError):
                    box = None
                counts.boxes.append(Event("box", name, label, box=box))
            elif child.tag == "tag":
                counts.n_tags += 1
            elif child.tag in SHAPES:
                counts.other_shapes[child.tag] += 1
            else:
                continue
            counts.pairs.add((name, label))
    return counts
