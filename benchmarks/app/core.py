"""What the app and `clsdet predict` share, with no Streamlit in it (so it is testable): finding a run, picking
candidates by name, the device, an upload's size cap and decoding, image files from folders. A run's candidates,
predictors, test images and scores come from benchmarks/predictions/ (the report's figure uses them too).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.data.images import IMAGE_SUFFIXES
from benchmarks.predictions import PredictionError
from benchmarks.predictions.images import decode_checked
from benchmarks.predictions.run import candidates
from benchmarks.record import load_results

MAX_UPLOAD_MB = 20  # the app's upload cap (server.maxUploadSize) and what predict reads from one file


class AppError(PredictionError):
    """A user-facing error of the app or `clsdet predict` (printed without a traceback by the CLI, shown with
    st.error in the app, as every PredictionError is)."""


# --- runs ------------------------------------------------------------------------------------------------------------
def newest_run(runs_dir: str | Path) -> Path:
    """The newest folder under runs_dir holding a results.json (by the file's modification time)."""
    runs_dir = Path(runs_dir)
    found = sorted(runs_dir.glob("*/results.json"), key=lambda p: p.stat().st_mtime) if runs_dir.is_dir() else []
    if not found:
        raise AppError(
            f"no finished run under {runs_dir} (no */results.json): run `make bench` or `clsdet bench CONFIG` first, "
            "or give the run folder"
        )
    return found[-1].parent


def runs_beside(run_dir: str | Path) -> list[str]:
    """Names of the run folders beside `run_dir` (same parent, holding a results.json; `run_dir` itself always),
    newest first: the runs a link's `?run=NAME` may open. Only names: a link cannot reach another folder."""
    run_dir = Path(run_dir)
    found = [p.parent for p in run_dir.parent.glob("*/results.json")] if run_dir.parent.is_dir() else []
    found = sorted(
        {*found, run_dir}, key=lambda p: (p / "results.json").stat().st_mtime if (p / "results.json").is_file() else 0
    )
    return [p.name for p in reversed(found)]


def choose_run(run_dir: str | Path, wanted: str | None) -> Path:
    """The run a link names (`?run=NAME`: a folder beside `run_dir`), else `run_dir`."""
    run_dir = Path(run_dir)
    if not wanted or wanted == run_dir.name:
        return run_dir
    names = runs_beside(run_dir)
    if wanted not in names:
        raise AppError(
            f"the link's run {wanted!r} is not a finished run in {run_dir.parent} (runs there: "
            f"{', '.join(names[:10])}{' ...' if len(names) > 10 else ''}); pick one in the sidebar or remove ?run="
        )
    return run_dir.parent / wanted


def load_run(run_dir: str | Path) -> dict:
    return load_results(Path(run_dir))


def resolve_candidate(results: dict, wanted: str) -> list[str]:
    """`--model NAME_OR_PIPELINE` -> candidate names: a candidate name, or every candidate of a pipeline."""
    groups = candidates(results)
    names = [n for ns in groups.values() for n in ns]
    if wanted in names:
        return [wanted]
    if wanted in groups:
        return groups[wanted]
    raise AppError(f"--model {wanted!r}: this run has candidates {names} (pipelines {sorted(groups)}); pick one")


def pick_device() -> str:
    """CUDA, then Apple's MPS, then the CPU: the app works everywhere and uses an accelerator when present."""
    import torch  # deferred: heavy, and only the app and `predict --device auto` need it

    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


# --- images ------------------------------------------------------------------------------------------------------
def decode_upload(data: bytes, name: str = "upload") -> np.ndarray:
    """Encoded bytes -> HWC RGB uint8, in memory; an unreadable, empty, oversized or non-image file is a PredictionError
    (an AppError for the app's own limits)."""
    if not data:
        raise AppError(f"{name}: the file is empty")
    if len(data) > MAX_UPLOAD_MB * 1024 * 1024:
        raise AppError(f"{name}: {len(data) / 2**20:.1f} MB is over the {MAX_UPLOAD_MB} MB limit; resize it first")
    return decode_checked(data, name)


def image_files(items: list[str | Path]) -> tuple[list[Path], list[str]]:
    """Files and folders (searched recursively for image suffixes) -> image files, and what was skipped and why."""
    files, skipped = [], []
    for item in map(Path, items):
        if item.is_dir():
            found = []
            for p in sorted(item.rglob("*")):
                if p.name.startswith(".") or p.is_dir():
                    continue  # hidden files (.DS_Store, editors' backups) as `data inspect` skips them
                if not p.exists():
                    skipped.append(f"{p}: a link to a missing file")
                elif p.suffix.lower() not in IMAGE_SUFFIXES:
                    skipped.append(f"{p}: not an image file name ({', '.join(sorted(IMAGE_SUFFIXES))})")
                else:
                    found.append(p)
            if not found:
                skipped.append(f"{item}: no image files ({', '.join(sorted(IMAGE_SUFFIXES))}) in this folder")
            files += found
        elif item.is_file():
            files.append(item)
        else:
            skipped.append(f"{item}: no such file or folder")
    return files, skipped
