"""CVAT events export (+ optional annotation export) -> one `cvat` labeling log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.labeling.cvat_events import WORKING_TIME_SCOPE, CvatEventsError, CvatTime, keep_jobs, read_working_time
from benchmarks.labeling.cvat_export import ExportCounts, count_export
from benchmarks.labeling.log_format import Event, LabelingLog, to_utc_text
from benchmarks.labeling.timing import THRESHOLD_MS

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _utc(ms: int | None) -> str:
    return to_utc_text(_EPOCH + timedelta(milliseconds=ms or 0))


def _ids(ids) -> str:
    return ", ".join(sorted(ids, key=lambda j: (len(j), j)))


def restrict_to_export(wt: CvatTime, counts: ExportCounts, events_csv, annotations) -> dict[str, float]:
    """Keep only the jobs the annotation export covers, so the time and the boxes describe the same work; returns
    the jobs left out ({job: active_s}). Refuses when nothing matches, or when the export names no job or task and
    the events hold several jobs (the time could not be matched to these boxes)."""
    in_events = set(wt.jobs)
    if counts.job_ids:
        keep, covered = in_events & counts.job_ids, f"job(s) {_ids(counts.job_ids)}"
    elif counts.task_ids:
        keep = {j for j, v in wt.jobs.items() if v["task_id"] in counts.task_ids}
        covered = f"task(s) {_ids(counts.task_ids)}"
    elif len(in_events) > 1:
        raise CvatEventsError(
            f"{annotations}: the export names no job or task id, and {events_csv} holds the time of jobs "
            f"{_ids(in_events)}: the time cannot be matched to this export's boxes; export the annotations again "
            "as 'CVAT for images 1.1' (its <meta> lists the jobs), or export the events of this job only"
        )
    else:
        keep, covered = in_events, "no job id"
    if in_events and not keep:
        raise CvatEventsError(
            f"{events_csv} holds jobs {_ids(in_events)}, none of which is in {annotations} ({covered}): the time and "
            "the boxes are of different work; pass the events CSV and the export of the same task or job"
        )
    return keep_jobs(wt, keep)


def import_cvat(
    events_csv: Path | None,
    annotations: Path | None = None,
    dataset: str = "",
    annotator: str = "",
    notes: str = "",
    threshold_s: float = THRESHOLD_MS / 1000,
    example: bool = False,
) -> LabelingLog:
    if events_csv is None and annotations is None:
        raise CvatEventsError("give an events CSV, an annotation export, or both")
    counts = count_export(annotations) if annotations else None
    if events_csv is None:  # only the export's own timestamps: a rough wall-clock span
        span = counts.rough_span_s
        if span is None:
            raise CvatEventsError(
                f"{counts.origin}: no <created>/<updated> in <meta>, so not even a rough time; export it again from "
                "CVAT, or give the events CSV (Analytics > Export events) for a measured time"
            )
        return LabelingLog(
            method="cvat",
            dataset=dataset or Path(annotations).stem,
            annotator=annotator,
            started_utc=to_utc_text(counts.created),
            ended_utc=to_utc_text(counts.updated),
            source="cvat_export_timestamps",
            active_s=round(span, 3),
            n_images=counts.n_images,
            n_labels=len(counts.pairs),
            n_boxes=counts.n_boxes,
            example=example,
            notes=notes
            or f"ROUGH: {counts.meta_kind} <updated> - <created> from {counts.origin}; includes every pause",
            counts={
                "other_shapes": dict(counts.other_shapes),
                "unboxed_shapes": counts.unboxed_shapes,
                "tags": counts.n_tags,
            },
            events=counts.boxes,
        )
    wt = read_working_time(Path(events_csv), round(threshold_s * 1000))
    left_out = restrict_to_export(wt, counts, events_csv, annotations) if counts is not None else {}
    methods = wt.methods
    frames_seen = {(f["job_id"], f["frame"]) for f in wt.frames if f["frame"] is not None}
    events = [Event("frame_time", f"job{f['job_id']}/frame{f['frame']}", active_s=f["active_s"]) for f in wt.frames] + (
        counts.boxes if counts else []
    )
    if counts is not None:
        n_images, n_labels, n_boxes = counts.n_images, len(counts.pairs), counts.n_boxes
    else:  # without an export only the frames the events name are known; no boxes
        n_images, n_labels, n_boxes = len(frames_seen), 0, 0
    how = " + ".join(f"{m} for {n} job(s)" for m, n in methods.items()) or "no job time"
    if left_out:
        how += f"; left out job(s) {_ids(left_out)} ({sum(left_out.values()):g} s), not in {Path(annotations).name}"
    return LabelingLog(
        method="cvat",
        dataset=dataset or Path(events_csv).stem,
        annotator=annotator or ", ".join(wt.users),
        started_utc=_utc(wt.first_ms),
        ended_utc=_utc(wt.last_ms),
        source="cvat_working_time" if WORKING_TIME_SCOPE in methods else "cvat_client_events",
        active_s=wt.active_s,
        n_images=n_images,
        n_labels=n_labels,
        n_boxes=n_boxes,
        example=example,
        notes=notes or f"working time from {Path(events_csv).name}: {how}",
        pause_threshold_s=threshold_s,
        paused_s=wt.paused_s,
        counts={
            "problems": wt.problems,
            "outside_jobs_s": wt.outside_jobs_s,
            "frames_with_time": len(frames_seen),
            # seconds cut from implausible spans (cvat_events.py): a rate from this log rests on clipped events
            **({"clipped_s": wt.clipped_s} if wt.clipped_s else {}),
            **({"jobs_left_out": left_out} if left_out else {}),
            **(
                {
                    "other_shapes": dict(counts.other_shapes),
                    "unboxed_shapes": counts.unboxed_shapes,
                    "tags": counts.n_tags,
                }
                if counts
                else {}
            ),
        },
        breakdown={"methods": methods, "jobs": wt.jobs, "tasks": wt.tasks, "users": wt.users},
        events=events,
    )
