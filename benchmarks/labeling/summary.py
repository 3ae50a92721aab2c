"""Text reports of labeling logs: one session (after watch / stop / import) and the per-method summary table."""

from __future__ import annotations

from benchmarks.labeling.cost import MethodTotals, modeled_rate
from benchmarks.labeling.log_format import LabelingLog
from benchmarks.labeling.rates import LabelingRates
from benchmarks.registry import methods


def _f(x: float | None, digits: int = 2) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def event_text(event, images: int, labels: int) -> str:
    """One line per recorded row of a folder-sort session, with the session's totals so far."""
    clock = (event.t_utc or "")[11:19]  # HH:MM:SS of the UTC time stamp
    what = {
        "arrive": f"+ {event.image} -> {event.label}",
        "resort": f"~ {event.image}: {event.from_label} -> {event.label}",
        "remove": f"- {event.image} out of {event.label}",
    }.get(event.kind, f"{event.kind} {event.image}")
    return f"  {clock}  {what}   ({images} images, {labels} labels this session)"


def session_text(log: LabelingLog, path=None) -> str:
    lines = [
        f"{log.method} session, dataset {log.dataset!r}, annotator {log.annotator or '-'} ({log.source})",
        f"  {log.started_utc} -> {log.ended_utc}",
        f"  active {log.active_s:.1f} s"
        + (f", paused {log.paused_s:.1f} s" if log.paused_s else "")
        + (f" in {len(log.pauses)} pause(s)" if log.pauses else "")
        + (f" (gaps >= {log.pause_threshold_s:g} s excluded)" if log.pause_threshold_s else ""),
        f"  images {log.n_images}, labels {log.n_labels}, boxes {log.n_boxes}",
    ]
    for key in ("resorts", "removals", "ignored_files"):
        if log.counts.get(key):
            lines.append(f"  {key.replace('_', ' ')}: {log.counts[key]}")
    if log.counts.get("problems"):
        lines.append(f"  input problems: {log.counts['problems']}")
    if log.counts.get("clipped_s"):
        lines.append(
            f"  clipped: {log.counts['clipped_s']:g} s cut from implausible spans; a rate from this log rests on them"
        )
    if log.counts.get("jobs_left_out"):
        left = log.counts["jobs_left_out"]
        lines.append(f"  left out (not in the annotation export): job(s) {', '.join(left)}, {sum(left.values()):.1f} s")
    if log.breakdown.get("jobs"):
        for job, j in log.breakdown["jobs"].items():
            lines.append(f"  job {job} (task {j['task_id']}): {j['active_s']:.1f} s via {j['method']}")
    per = [(n, d) for n, d in (("image", log.n_images), ("label", log.n_labels), ("box", log.n_boxes)) if d]
    if per:
        lines.append("  " + ", ".join(f"{log.active_s / d:.2f} s per {n}" for n, d in per))
    if path is not None:
        lines.append(f"  log: {path}")
    return "\n".join(lines)


def summary_rows(measured: dict[str, MethodTotals], rates: LabelingRates) -> list[dict]:
    rows = []
    for method, m in methods.METHODS.items():
        t = measured.get(method)
        if t is not None:
            source = f"{t.source} ({', '.join(sorted(t.sources))})" + (" [includes EXAMPLE logs]" if t.examples else "")
            if t.s_per_image is None and t.s_per_box is None:  # labeling_cost falls back to the modeled rate
                source += " [no image or box counts: costs use the modeled rate]"
            if t.clipped:
                source += f" [rests on clipped events: {sum(t.clipped.values()):g} s cut]"
            rows.append(
                {"method": method, "images": t.n_images, "labels": t.n_labels, "boxes": t.n_boxes,
                 "active_s": round(t.active_s, 3), "s_per_image": t.s_per_image, "s_per_label": t.s_per_label,
                 "s_per_box": t.s_per_box, "source": source, "logs": t.logs}
            )  # fmt: skip
        else:
            s, citation = modeled_rate(m, rates)
            rows.append(
                {"method": method, "images": None, "labels": None, "boxes": None, "active_s": None,
                 "s_per_image": s if m.unit == "image" else None, "s_per_label": None,
                 "s_per_box": s if m.unit == "box" else None, "source": citation, "logs": []}
            )  # fmt: skip
    return rows


def summary_text(rows: list[dict]) -> str:
    head = f"{'method':<12} {'images':>7} {'labels':>7} {'boxes':>6} {'active_s':>9} {'s/image':>8} {'s/label':>8}"
    head += f" {'s/box':>7}  source"
    lines = [head]
    for r in rows:
        n = ["-" if r[k] is None else str(r[k]) for k in ("images", "labels", "boxes")]
        lines.append(
            f"{r['method']:<12} {n[0]:>7} {n[1]:>7} {n[2]:>6} {_f(r['active_s'], 1):>9} {_f(r['s_per_image']):>8} "
            f"{_f(r['s_per_label']):>8} {_f(r['s_per_box']):>7}  {r['source']}"
        )
    for r in rows:
        if r["logs"]:
            lines.append(f"{r['method']} logs: {', '.join(r['logs'])}")
    return "\n".join(lines)
