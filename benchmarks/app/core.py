"""What the app, `clsdet predict` and the predictions figure share, with no Streamlit in it (so it is testable):
finding a run, its candidates per pipeline, loading their predictors, the test images with their truth, decoding
an upload in memory, and one image through both models.

Scores are computed exactly as each predictor's `end_to_end` does (the same decoders on the same encoded bytes),
so what the app shows is what the latency's end-to-end scope timed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmarks.data.images import IMAGE_SUFFIXES
from benchmarks.record import model_pipeline
from benchmarks.registry import pipelines as registry

PIPELINES = ("classifier", "detector")
MAX_UPLOAD_MB = 20  # the app's upload cap (server.maxUploadSize) and what predict reads from one file


class AppError(ValueError):
    """A user-facing error (printed without a traceback by the CLI, shown with st.error in the app)."""

    user_error = True


# --- runs and candidates -------------------------------------------------------------------------------------------
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
    from benchmarks.record import load_results

    return load_results(Path(run_dir))


def pipeline_of(name: str, entry: dict) -> str:
    """A candidate's pipeline; records written before candidates existed key models by pipeline name."""
    return model_pipeline(name, entry)


def candidates(results: dict) -> dict[str, list[str]]:
    """pipeline -> candidate names in record order, for candidates with a trained artifact."""
    out: dict[str, list[str]] = {}
    for name, entry in (results.get("models") or {}).items():
        if isinstance(entry, dict) and entry.get("artifact"):
            out.setdefault(pipeline_of(name, entry), []).append(name)
    return out


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
    import torch

    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def load_predictor(run_dir: str | Path, results: dict, name: str, device: str = "cpu"):
    entry = (results.get("models") or {}).get(name)
    if not isinstance(entry, dict) or not entry.get("artifact"):
        raise AppError(f"{Path(run_dir) / 'results.json'}: no trained candidate {name!r} (models.{name}.artifact)")
    artifact = Path(run_dir) / entry["artifact"]
    if not artifact.is_dir():
        raise AppError(f"{artifact} is missing: the run folder is incomplete; re-run `clsdet bench ... --resume`")
    pipeline = pipeline_of(name, entry)
    return registry.load_predictor(pipeline, artifact, device)


# --- test images -------------------------------------------------------------------------------------------------
@dataclass
class TestSet:
    ids: list[str]
    paths: list[str]
    truth: np.ndarray  # (N, C) 1 / 0 / NaN (the truth source cannot speak about that class)
    classes: list[str]
    truth_source: str
    skipped: list[str] = field(default_factory=list)  # "id: reason" for test images that cannot be shown


def test_set(run_dir: str | Path, results: dict) -> TestSet:
    """The run's test images (results.split.test_ids) with their truth labels, from the run's manifest.json."""
    from benchmarks.data.manifest import Manifest

    run_dir = Path(run_dir)
    classes = list((results.get("data") or {}).get("classes") or [])
    truth_source = (results.get("data") or {}).get("truth") or ""
    ids = list((results.get("split") or {}).get("test_ids") or [])
    mfile = run_dir / "manifest.json"
    if not mfile.is_file() or not ids:
        why = f"{mfile} is missing" if not mfile.is_file() else "results.json lists no split.test_ids"
        return TestSet([], [], np.zeros((0, len(classes)), np.float32), classes, truth_source, [why])
    manifest = Manifest.load(mfile)
    keep, paths, skipped = [], [], []
    for i in ids:
        try:
            path = manifest.get(i).path
        except KeyError:
            skipped.append(f"{i}: not in {mfile.name}")
            continue
        if not Path(path).is_file():
            skipped.append(f"{i}: {path} no longer exists")
            continue
        keep.append(i)
        paths.append(path)
    truth = (
        manifest.targets(truth_source, keep)
        if truth_source in manifest.sources
        else np.full((len(keep), len(manifest.classes)), np.nan, np.float32)
    )
    return TestSet(keep, paths, truth, list(manifest.classes), truth_source, skipped)


# --- images ------------------------------------------------------------------------------------------------------
def _open(data: bytes, name: str) -> np.ndarray:
    """classifier.data.open_image (the checks `clsdet data inspect` makes: pixel limit, truncation, first frame of
    an animated image, any mode to RGB), its reason as an AppError."""
    from classifier.data import ImageDecodeError, open_image

    try:
        return np.ascontiguousarray(open_image(data, name))
    except ImageDecodeError as exc:
        raise AppError(str(exc)) from None


def decode_upload(data: bytes, name: str = "upload") -> np.ndarray:
    """Encoded bytes -> HWC RGB uint8, in memory; an unreadable, empty, oversized or non-image file is an AppError."""
    if not data:
        raise AppError(f"{name}: the file is empty")
    if len(data) > MAX_UPLOAD_MB * 1024 * 1024:
        raise AppError(f"{name}: {len(data) / 2**20:.1f} MB is over the {MAX_UPLOAD_MB} MB limit; resize it first")
    return _open(data, name)


def read_image(path: str | Path) -> np.ndarray:
    """A file the run already reads (a test image) -> HWC RGB uint8; no size cap, unlike an upload."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise AppError(f"{path}: cannot read it ({exc.strerror})") from None
    return _open(data, str(path))


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


@dataclass
class Prediction:
    """One image through one candidate: per-class scores, and the detector's boxes (None for a classifier)."""

    name: str
    pipeline: str
    classes: list[str]
    scores: np.ndarray  # (C,)
    thresholds: np.ndarray  # (C,) the tuned ones
    boxes: np.ndarray | None = None  # (K, 6) x1, y1, x2, y2, conf, cls in original pixels, conf >= conf_floor

    def labels(self, thresholds: np.ndarray | None = None) -> list[str]:
        th = self.thresholds if thresholds is None else np.asarray(thresholds, dtype=np.float32)
        return [c for c, s, t in zip(self.classes, self.scores, th) if s >= t]


def predict_encoded(pred, pipeline: str, name: str, data: bytes) -> Prediction:
    """Encoded image bytes through one predictor, decoded as its end_to_end decodes them."""
    import torch

    if pipeline == "detector":
        from detector.scores import max_conf_per_class

        # the one checked decoder (not cv2's own, which raises cv2.error on a bomb and reads every frame of a GIF)
        bgr = np.ascontiguousarray(_open(data, name)[..., ::-1])
        (boxes,) = pred.predict_boxes([bgr])
        scores = max_conf_per_class([boxes], len(pred.classes))[0]
        return Prediction(name, pipeline, pred.classes, scores, np.asarray(pred.thresholds), boxes)
    from classifier.data import ImageDecodeError, check_header, decode_bytes

    try:
        check_header(data, name)  # a decompression bomb is refused before torchvision allocates its pixels
        image = decode_bytes(torch.frombuffer(bytearray(data), dtype=torch.uint8), name)
    except ImageDecodeError as exc:
        raise AppError(str(exc)) from None
    with torch.inference_mode():
        logits = pred.forward(pred.preprocess([image]))
    scores = torch.sigmoid(logits.float()).cpu().numpy()[0].astype(np.float32)
    return Prediction(name, pipeline, pred.classes, scores, np.asarray(pred.thresholds))


def mistakes(labels: list[str], truth_row: np.ndarray, classes: list[str]) -> dict[str, list[str]]:
    """Against the truth: missed (truth 1, not predicted) and false (truth 0, predicted); NA classes are neither."""
    said = set(labels)
    missed = [c for c, t in zip(classes, truth_row) if t == 1 and c not in said]
    false = [c for c, t in zip(classes, truth_row) if t == 0 and c in said]
    return {"missed": missed, "false": false}


# --- the whole test set ------------------------------------------------------------------------------------------
def score_paths(pred, pipeline: str, name: str, paths: list[str]) -> tuple[np.ndarray, list[np.ndarray] | None]:
    """(N, C) scores for image files, plus per-image boxes for a detector (None for a classifier)."""
    if pipeline == "detector":
        from detector.scores import max_conf_per_class

        boxes = pred.predict_boxes(paths)
        return max_conf_per_class(boxes, len(pred.classes)), boxes
    return np.asarray(pred.predict_scores(paths), dtype=np.float32), None


def disagreement(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per image the largest per-class score difference between two models: 1 = one is sure, the other silent."""
    if len(a) == 0:
        return np.zeros(0, dtype=np.float32)
    return np.abs(np.asarray(a, np.float32) - np.asarray(b, np.float32)).max(axis=1)


def choose_examples(disagree: np.ndarray, n: int = 12, n_random: int = 4, seed: int = 0) -> list[int]:
    """The fixed rule for the predictions figure: the n - n_random largest disagreements (ties by position), then
    n_random seeded random picks among the rest, so typical images show beside the hard ones."""
    order = sorted(range(len(disagree)), key=lambda i: (-float(disagree[i]), i))
    top = order[: max(n - n_random, 0)]
    rest = sorted(set(range(len(disagree))) - set(top))
    rng = np.random.default_rng(seed)
    extra = rng.choice(rest, size=min(n_random, len(rest)), replace=False).tolist() if rest else []
    return top + [int(i) for i in extra]
