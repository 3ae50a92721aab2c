"""Per-image labeling times from the logs: the samples behind a measured rate's CI (pricing.labeling_hours).

- CVAT logs: `frame_time` events carry each frame's active seconds (CVAT's working time per frame); a frame's
  events are summed.
- folder-sort logs: `arrive` / `resort` / `remove` events carry timestamps; CVAT's working-time rule
  (labeling/timing.py: gaps under 100 s count, longer ones are pauses) credits each counted gap to the image of the
  event that ends it, and an image's gaps are summed. An image with an event whose time is unobserved (the first
  event of a session starts the clock; an event after a pause) is left out rather than counted as too quick.
Logs without such events (a stopwatch session, boxes from an export) give no samples: the rate then has no range,
and the pricing record says so.
"""

from __future__ import annotations

from collections import defaultdict

from benchmarks.labeling.log_format import LabelingLog, parse_utc
from benchmarks.labeling.timing import active_time

TIMED_KINDS = ("arrive", "resort", "remove")


def per_image_seconds(logs: list[LabelingLog], method: str) -> list[float]:
    """Active seconds per labelled image over the `method` logs ('folder_sort' or 'cvat'), one value per image
    (per log: the same file name in two sessions is two samples)."""
    out: list[float] = []
    for log in logs:
        if log.method != method:
            continue
        per: dict[str, float] = defaultdict(float)
        frames = [e for e in log.events if e.kind == "frame_time" and e.active_s is not None]
        if frames:
            for e in frames:
                per[e.image] += float(e.active_s)
        else:
            timed = [e for e in log.events if e.kind in TIMED_KINDS and e.t_utc]
            timed.sort(key=lambda e: parse_utc(e.t_utc)[0])
            starts = [int(parse_utc(e.t_utc)[0].timestamp() * 1000) for e in timed]
            unobserved = set()
            for i, (e, step) in enumerate(zip(timed, active_time(starts).steps)):
                per[e.image] += step.active_ms / 1000
                if i == 0 or step.pause_ms:  # the clock's start, or after a pause: this image's time is unknown
                    unobserved.add(e.image)
            for image in unobserved:
                per.pop(image)
        out += [s for s in per.values()]
    return out
