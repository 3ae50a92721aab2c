"""CVAT annotation hours per job and annotator, as a table (`clsdet label import-cvat EVENTS.csv --csv OUT.csv`).

Hours are the working time of `import-cvat` (CVAT's own idle rule, timing.py), per job and user. Objects come from
the server events CVAT records when annotations are saved (cvat-ai/cvat `cvat/apps/events/handlers.py:
handle_annotations_change`): one `create:shapes` / `create:tracks` / `create:tags` event per save and shape type,
its `count` column the number of objects, with the job and the user who saved them; `delete:*` likewise. Objects =
created - deleted, so a box drawn and removed again counts for neither.
"""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from pathlib import Path

OBJECT_KINDS = ("shapes", "tracks", "tags")
COLUMNS = (
    "job_id", "task_id", "user_id", "user_name", "active_s", "hours", "method", "objects", "objects_created",
    "objects_deleted", "objects_per_hour",
)  # fmt: skip


def _user_key(row: dict) -> str:
    """The same identity as cvat_events.read_events gives a row: user_id, else user_name, else 'unknown'."""
    return (row.get("user_id") or "").strip() or (row.get("user_name") or "").strip() or "unknown"


def object_counts(events_csv: Path, problems: Counter | None = None) -> tuple[dict, dict[str, str]]:
    """({(job_id, user): {"created": n, "deleted": n}}, {user: user_name}) from the save events' count column."""
    problems = problems if problems is not None else Counter()
    counts: dict[tuple[str, str], Counter] = defaultdict(Counter)
    names: dict[str, str] = {}
    with open(events_csv, newline="", encoding="utf-8-sig") as fh:
        for row in csv.DictReader(fh):
            user = _user_key(row)
            if (row.get("user_name") or "").strip():
                names.setdefault(user, row["user_name"].strip())
            action, _, kind = (row.get("scope") or "").strip().partition(":")
            if action not in ("create", "delete") or kind not in OBJECT_KINDS:
                continue
            job = (row.get("job_id") or "").strip()
            try:
                n = int(float(row.get("count") or 0))
            except ValueError:
                problems["bad_count"] += 1
                continue
            if not job:
                problems["object_events_without_job"] += 1
                continue
            counts[(job, user)]["created" if action == "create" else "deleted"] += n
    return dict(counts), names


def job_rows(log_breakdown: dict, events_csv: Path) -> list[dict]:
    """One row per job x annotator: the working time `import-cvat` computed (its breakdown's jobs, after any
    restriction to an annotation export's jobs) and the objects that user saved in that job."""
    counts, names = object_counts(Path(events_csv))
    jobs = log_breakdown.get("jobs") or {}
    rows = []
    keys = {(j, u) for j, info in jobs.items() for u in (info.get("users") or {})}
    keys |= {k for k in counts if k[0] in jobs}  # saved objects without counted time still show (0 hours)
    for job, user in sorted(keys, key=lambda k: (len(k[0]), k[0], k[1])):
        info = jobs[job]
        active_s = float((info.get("users") or {}).get(user, 0.0))
        c = counts.get((job, user), Counter())
        objects = c["created"] - c["deleted"]
        hours = active_s / 3600
        rows.append({
            "job_id": job, "task_id": info.get("task_id"), "user_id": user, "user_name": names.get(user, ""),
            "active_s": round(active_s, 3), "hours": round(hours, 4), "method": info.get("method"),
            "objects": objects, "objects_created": c["created"], "objects_deleted": c["deleted"],
            "objects_per_hour": round(objects / hours, 1) if hours > 0 else None,
        })  # fmt: skip
    return rows


def write_job_table(rows: list[dict], out: Path) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS)
        w.writeheader()
        w.writerows(rows)
    return out
