"""What a report draws from besides results.json (model folders, the manifest, jobs/) and is gone from the run
folder: one warning each, so a re-render of a trimmed or damaged run says what it could not redraw."""

from __future__ import annotations

from pathlib import Path

RESTORE = "restore it from a copy of the run, or re-run `clsdet bench CONFIG --resume` into this folder"


def missing_parts(run_dir: str | Path, results: dict) -> list[str]:
    run_dir = Path(run_dir)
    out = []
    for name, entry in (results.get("models") or {}).items():
        if isinstance(entry, dict) and entry.get("artifact") and not (run_dir / str(entry["artifact"])).is_dir():
            out.append(f"{run_dir / str(entry['artifact'])} is missing: candidate {name}'s trained model; {RESTORE}")
    if (results.get("split") or {}).get("test_ids") and not (run_dir / "manifest.json").is_file():
        out.append(f"{run_dir / 'manifest.json'} is missing: the test images' paths and truth; {RESTORE}")
    if (results.get("curve") or {}).get("points") and not (run_dir / "jobs").is_dir():
        out.append(f"{run_dir / 'jobs'} is missing: the budget curve's per-point scores and models; {RESTORE}")
    return out
