"""What a CVAT for images 1.1 export holds, for labeling cost: images, boxes, other shapes, tags, and the export's
own timestamps (a rough wall-clock figure).

Reading goes through the project's CVAT reader (`benchmarks.data.sources.cvat_xml.parse`, defusedxml, zip or folder
via `benchmarks.data.archive.Export`), so both agree on what an export is. Counting follows the same reader: a box is
every object that reader turns into a truth box, i.e. every `<box>` (rotated ones too) and every other shape with
coordinates (polygon, mask, ...: its enclosing box). The harness multiplies the per-box rate by the manifest's boxes,
which hold exactly those, so both sides of the rate count one way. `other_shapes` says how many were not `<box>`.
Tags are labels, not boxes.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from defusedxml.ElementTree import iterparse

from benchmarks.data.archive import Export
from benchmarks.data.problems import Problems
from benchmarks.data.sources.cvat_xml import SHAPES, parse, shape_box
from benchmarks.labeling.log_format import Event, parse_utc


class ExportError(Exception):
    user_error = True


@dataclass
class ExportCounts:
    origin: str
    n_images: int = 0
    n_boxes: int = 0
    n_tags: int = 0
    other_shapes: Counter = field(default_factory=Counter)  # non-<box> shape -> count (in n_boxes when it has a box)
    unboxed_shapes: int = 0  # shapes the reader cannot turn into a box (bad coordinates, skeleton all outside)
    job_ids: set = field(default_factory=set)  # CVAT job ids the export covers (<meta> job id, segment urls)
    task_ids: set = field(default_factory=set)
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


_JOB_URL = re.compile(r"/jobs/(\d+)/?$|[?&]id=(\d+)")


def _meta_times(export, member: str, counts: ExportCounts) -> None:
    with export.open(member) as stream:
        for _event, el in iterparse(stream, events=("end",), forbid_dtd=True):
            if el.tag != "meta":
                continue
            for url in el.iter("url"):  # segments: http://host/api/jobs/<id> (CVAT 2.x) or http://host/?id=<id> (1.x)
                found = _JOB_URL.search(url.text or "")
                if found:
                    counts.job_ids.add(found.group(1) or found.group(2))
            for task in el.iter("task"):
                if (task.findtext("id") or "").strip():
                    counts.task_ids.add(task.findtext("id").strip())
            job = el.find("job")
            if job is not None and (job.findtext("id") or "").strip():
                counts.job_ids.add(job.findtext("id").strip())
            for kind in ("job", "task", "project"):
                node = el.find(kind)
                if node is None:
                    continue
                counts.meta_kind = counts.meta_kind or kind
                for tag, pick in (("created", min), ("updated", max)):
                    for text in [t.text for t in node.iter(tag) if t.text]:
                        try:
                            value, _ = parse_utc(text)
                        except ValueError:
                            raise ExportError(
                                f"{export.where(member)}: <{tag}>{text}</{tag}> in <meta> is not a date and time; "
                                "export it again from CVAT (it writes e.g. 2025-06-20 15:12:20.770277+00:00)"
                            ) from None
                        old = getattr(counts, tag)
                        setattr(counts, tag, value if old is None else pick(old, value))
            return


def count_export(path: Path) -> ExportCounts:
    """Count an `annotations.xml`, a folder holding one, or a zip export."""
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
                try:
                    enclosing = shape_box(child)
                except (KeyError, ValueError):
                    enclosing = None
                if enclosing is None:  # the reader skips it too: no truth box, so no box to pay for
                    counts.unboxed_shapes += 1
                else:
                    counts.n_boxes += 1
                    counts.boxes.append(Event("box", name, label, box=[round(v, 2) for v in enclosing]))
            else:
                continue
            counts.pairs.add((name, label))
    return counts
