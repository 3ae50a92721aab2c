"""Labeling cost per method: measured from logs where they exist, modeled from cited rates where not.

Statistics only: the logs are the records (log_format.py), this module reads them and never writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.labeling.log_format import LabelingLog, find_logs, read_log
from benchmarks.labeling.rates import LabelingRates
from benchmarks.registry import methods
from benchmarks.registry.methods import LabelingMethod


@dataclass
class MethodTotals:
    method: str
    logs: list[str] = field(default_factory=list)
    sources: set[str] = field(default_factory=set)
    n_images: int = 0
    n_labels: int = 0
    n_boxes: int = 0
    active_s: float = 0.0
    # Each rate divides the time of the logs that counted that quantity by their count, never the time of all logs
    # by the counts of some (a log without box counts must not inflate the per-box rate, nor one without images
    # the per-image rate).
    image_active_s: float = 0.0
    label_active_s: float = 0.0
    box_active_s: float = 0.0
    rough: bool = False
    examples: bool = False
    clipped: dict = field(default_factory=dict)  # log name -> seconds cut from implausible events when imported

    def add(self, path: Path, log: LabelingLog) -> None:
        self.logs.append(Path(path).name)
        self.sources.add(log.source)
        self.n_images += log.n_images
        self.n_labels += log.n_labels
        self.n_boxes += log.n_boxes
        self.active_s += log.active_s
        self.image_active_s += log.active_s if log.n_images else 0.0
        self.label_active_s += log.active_s if log.n_labels else 0.0
        self.box_active_s += log.active_s if log.n_boxes else 0.0
        self.rough = self.rough or log.rough
        self.examples = self.examples or log.example
        clipped = log.counts.get("clipped_s") if isinstance(log.counts, dict) else None
        if isinstance(clipped, (int, float)) and clipped > 0:
            self.clipped[Path(path).name] = float(clipped)

    @property
    def clipped_note(self) -> str | None:
        """Says that the rate rests on clipped events, with how much was cut from which log; None when nothing was."""
        if not self.clipped:
            return None
        where = ", ".join(f"{s:g} s in {name}" for name, s in sorted(self.clipped.items()))
        return (
            f"rests on clipped events: implausible spans were cut to the idle cut-off when imported ({where}); "
            "see each log's counts.problems"
        )

    @staticmethod
    def _per(seconds: float, n: int) -> float | None:
        return round(seconds / n, 3) if n else None

    @property
    def s_per_image(self) -> float | None:
        return self._per(self.image_active_s, self.n_images)

    @property
    def s_per_label(self) -> float | None:
        return self._per(self.label_active_s, self.n_labels)

    @property
    def s_per_box(self) -> float | None:
        return self._per(self.box_active_s, self.n_boxes)

    @property
    def source(self) -> str:
        return "rough" if self.rough else "measured"


def load_logs(
    log_dir: Path | None, dataset: str | None = None, include_examples: bool = False, include_rough: bool = False
) -> list[tuple[Path, LabelingLog]]:
    """Logs in `log_dir` for `dataset` (all datasets when None). Example logs only when asked or when `dataset`
    names them; rough logs (export timestamps) only when asked."""
    out = []
    for path in find_logs(log_dir) if log_dir else []:
        log = read_log(path)
        if dataset is not None and log.dataset != dataset:
            continue
        if log.example and not include_examples and dataset is None:
            continue
        if log.rough and not include_rough:
            continue
        out.append((path, log))
    return out


def totals(logs: list[tuple[Path, LabelingLog]]) -> dict[str, MethodTotals]:
    """Per method; a measured log wins over rough ones (rough totals are kept only for methods with nothing else)."""
    result: dict[str, MethodTotals] = {}
    for method in methods.METHODS:
        chosen = [(p, lg) for p, lg in logs if lg.method == method]
        if any(not lg.rough for _, lg in chosen):
            chosen = [(p, lg) for p, lg in chosen if not lg.rough]
        if chosen:
            result[method] = MethodTotals(method)
            for path, log in chosen:
                result[method].add(path, log)
    return result


def _entry(source, s_img, s_lab, s_box, total_s, basis, n_images, n_labels, n_boxes, reason=None, t=None) -> dict:
    clipped = t.clipped_note if t is not None else None
    return {
        "source": source,
        "s_per_image": s_img,
        "s_per_label": s_lab,
        "s_per_box": s_box,
        "total_s": round(total_s, 3) if total_s is not None else None,
        "hours": round(total_s / 3600, 4) if total_s is not None else None,
        "basis": basis,
        "n_images": n_images,
        "n_labels": n_labels,
        "n_boxes": n_boxes,
        "reason": reason,  # why a method with measured logs still uses the modeled rate; None otherwise
        # seconds cut from implausible events in the logs this rate rests on ({log: s}); None when none were
        "clipped_s": dict(sorted(t.clipped.items())) if clipped else None,
        "clipped": clipped,
    }


def _why_modeled(t: MethodTotals | None, counted: str) -> str | None:
    if t is None:
        return None
    return (
        f"measured log(s) {', '.join(t.logs)} ({t.active_s:g} s active) counted 0 {counted}, so they give no rate; "
        "the modeled rate is used instead. Import the log again with its counts (for CVAT: --annotations EXPORT)"
    )


def labeling_cost(
    n_images: int,
    n_labels: int,
    n_boxes: int,
    log_dir: Path | None,
    rates: LabelingRates | None = None,
    dataset: str | None = None,
    include_rough: bool = False,
) -> dict[str, dict]:
    """Human labeling time of this run's images, per labeling method (benchmarks/registry/methods.py):
    {"folder_sort": {...}, "cvat": {...}}.

    A measured rate (logs for `dataset`; every non-example log when `dataset` is None) is multiplied by the run's
    counts; `basis` names the logs and says so. Without logs, a modeled rate with its citation, `source: modeled`.
    A method priced per image (folder sorting) multiplies the images, one priced per box (CVAT) the boxes."""
    rates = rates or LabelingRates()
    measured = totals(load_logs(log_dir, dataset, include_rough=include_rough))
    # a mistyped `labeling.log_dir` must not look like "nobody logged anything": say so in every modeled entry
    no_folder = f"log folder {log_dir} does not exist" if log_dir and not Path(log_dir).is_dir() else None
    counts = (n_images, n_labels, n_boxes)
    price = {"image": _per_image, "box": _per_box}
    return {m.name: price[m.unit](m, measured.get(m.name), counts, rates, no_folder) for m in methods.METHODS.values()}


def modeled_rate(m: LabelingMethod, rates: LabelingRates) -> tuple[float, str]:
    """(seconds per unit, citation) of a method without logs: its own, else the built-in one of its unit."""
    if m.modeled_s is not None:
        return m.modeled_s, m.citation or f"modeled: {m.modeled_s:g} s per {m.unit} (registered; no citation given)"
    if m.unit == "image":
        return rates.folder_sort_s_per_image, rates.folder_sort_citation
    return rates.s_per_box, rates.box_basis


def _per_image(m: LabelingMethod, t: MethodTotals | None, counts, rates: LabelingRates, no_folder) -> dict:
    n_images, n_labels, _ = counts
    if t is not None and t.s_per_image is not None:
        total = t.s_per_image * n_images
        basis = (
            f"{t.source}: {t.active_s:g} s active over {t.n_images} images / {t.n_labels} labels in "
            f"{', '.join(t.logs)}; total = {t.s_per_image:g} s per image x this run's {n_images} images"
        ) + (f"; {t.clipped_note}" if t.clipped_note else "")
        return _entry(t.source, t.s_per_image, t.s_per_label, None, total, basis, *counts, t=t)
    s_img, citation = modeled_rate(m, rates)
    total = s_img * n_images
    s_lab = round(total / n_labels, 3) if n_labels else None
    reason = _why_modeled(t, "images") or no_folder
    basis = f"{citation}; total = rate x this run's {n_images} images" + (f" ({reason})" if reason else "")
    return _entry("modeled", s_img, s_lab, None, total, basis, *counts, reason=reason)


def _per_box(m: LabelingMethod, t: MethodTotals | None, counts, rates: LabelingRates, no_folder) -> dict:
    n_images, n_labels, n_boxes = counts
    if t is not None and (t.s_per_box is not None or t.s_per_image is not None):
        logs = ", ".join(t.logs)
        if t.s_per_box is not None:
            total = t.s_per_box * n_boxes
            how = f"total = {t.s_per_box:g} s per box x this run's {n_boxes} boxes"
        else:
            total = t.s_per_image * n_images
            how = f"no box counts in the logs: total = {t.s_per_image:g} s per image x this run's {n_images} images"
        basis = f"{t.source}: {t.active_s:g} s active, {t.n_images} images, {t.n_boxes} boxes in {logs}; {how}"
        basis += f"; {t.clipped_note}" if t.clipped_note else ""
        return _entry(t.source, t.s_per_image, t.s_per_label, t.s_per_box, total, basis, *counts, t=t)
    s_box, citation = modeled_rate(m, rates)
    total = s_box * n_boxes
    s_img = round(total / n_images, 3) if n_images else None
    s_lab = round(total / n_labels, 3) if n_labels else None
    reason = _why_modeled(t, "images and 0 boxes") or no_folder
    basis = f"{citation}; total = rate x this run's {n_boxes} boxes" + (f" ({reason})" if reason else "")
    return _entry("modeled", s_img, s_lab, s_box, total, basis, *counts, reason=reason)
