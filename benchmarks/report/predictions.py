"""Both models on one image, drawn once: the image, the detector's boxes, and under it the truth, the classifier's
labels with scores and the detector's labels, each model's mistakes in red.

`draw_prediction` is the one renderer: the app's pages and the static report's plots/predictions.png call it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

# tab10 without red: red is reserved for mistakes in the captions
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
WRONG = "#d62728"


def class_color(index: int) -> str:
    return PALETTE[int(index) % len(PALETTE)]


def _labels_text(who: str, pred, thresholds, truth_row) -> tuple[str, bool]:
    """'classifier: circle .91, star .40 | missed heart' and whether it made a mistake."""
    from benchmarks.app.core import mistakes

    th = pred.thresholds if thresholds is None else np.asarray(thresholds, dtype=np.float32)
    labels = pred.labels(th)
    said = ", ".join(f"{c} {s:.2f}" for c, s in zip(pred.classes, pred.scores) if c in labels) or "nothing"
    text = f"{who}: {said}"
    wrong = False
    if truth_row is not None:
        m = mistakes(labels, truth_row, pred.classes)
        parts = [f"missed {', '.join(m['missed'])}"] * bool(m["missed"]) + [f"false {', '.join(m['false'])}"] * bool(
            m["false"]
        )
        if parts:
            text += " | " + "; ".join(parts)
            wrong = True
    return text, wrong


def draw_prediction(
    ax,
    image_rgb: np.ndarray,
    classes: list[str],
    truth_row: np.ndarray | None = None,
    classifier=None,
    detector=None,
    classifier_thresholds=None,
    detector_thresholds=None,
    box_conf: float | None = None,
    title: str | None = None,
    fontsize: float = 8.0,
    only_class: int | None = None,
    caption_ax=None,
) -> None:
    """Draw one image on a matplotlib Axes.

    classifier/detector: benchmarks.app.core.Prediction (either may be None); thresholds default to the tuned ones;
    box_conf: the lowest box confidence drawn (default: the detector's thresholds, per class); only_class: draw only
    that class's boxes (the Grad-CAM page); caption_ax: an Axes for the caption (a grid), else under the image."""
    from matplotlib.patches import Rectangle

    ax.imshow(image_rgb)
    ax.set_xticks([])
    ax.set_yticks([])
    height, width = image_rgb.shape[:2]
    lw = 1.5
    if detector is not None and detector.boxes is not None:
        th = detector.thresholds if detector_thresholds is None else np.asarray(detector_thresholds, np.float32)
        for x1, y1, x2, y2, conf, cls in detector.boxes:
            k = int(cls)
            floor = th[k] if box_conf is None else box_conf
            if conf < floor or (only_class is not None and k != only_class):
                continue
            color = class_color(k)
            ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, edgecolor=color, linewidth=lw))
            # the tag sits inside the box when the box touches the top edge, so it never leaves the image
            ty, va = (y1, "bottom") if y1 > 0.08 * height else (y1, "top")
            ax.text(
                max(x1, 0),
                ty,
                f"{classes[k]} {conf:.2f}",
                fontsize=fontsize * 0.85,
                color="white",
                va=va,
                ha="left",
                clip_on=True,
                bbox={"facecolor": color, "edgecolor": "none", "pad": 1.0, "alpha": 0.85},
            )
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    lines: list[tuple[str, str]] = []
    if truth_row is not None:
        known = [c for c, t in zip(classes, truth_row) if t == 1]
        lines.append((f"truth: {', '.join(known) or 'none of the classes'}", "black"))
    for who, pred, th in (
        ("classifier", classifier, classifier_thresholds),
        ("detector", detector, detector_thresholds),
    ):
        if pred is not None:
            text, wrong = _labels_text(who, pred, th, truth_row)
            lines.append((text, WRONG if wrong else "black"))
    if title:
        ax.set_title(title, fontsize=fontsize, loc="left")
    _caption(caption_ax or ax, lines, fontsize, below=caption_ax is None)


def _caption(ax, lines: list[tuple[str, str]], fontsize: float, below: bool) -> None:
    """Wrapped caption lines at the Axes' width: under the image (below=True) or from the top of a caption Axes."""
    import textwrap

    fig = ax.figure
    width_in = ax.get_position().width * fig.get_figwidth()
    chars = max(int(width_in * 72 / (fontsize * 0.55)), 20)  # ~0.55 em per character in DejaVu Sans
    offset = 2.0 if below else 0.0
    for text, color in lines:
        wrapped = textwrap.fill(text, chars, subsequent_indent="  ")
        ax.annotate(
            wrapped,
            xy=(0, 0 if below else 1),
            xycoords="axes fraction",
            xytext=(0, -offset),
            textcoords="offset points",
            fontsize=fontsize,
            color=color,
            va="top",
            ha="left",
            annotation_clip=False,
        )
        offset += (wrapped.count("\n") + 1) * fontsize * 1.25 + 1.5


def plot_predictions(run_dir: str | Path, results: dict, out_path: str | Path, n: int = 12, device: str = "cpu"):
    """plots/predictions.png: n test images (the largest classifier/detector disagreements, then seeded random
    ones; benchmarks.app.core.choose_examples) drawn by draw_prediction. Returns the path, or the reason it was not
    drawn (a string, as the report's other plots do)."""
    import matplotlib.pyplot as plt

    from benchmarks.app import core

    run_dir = Path(run_dir)
    groups = core.candidates(results)
    missing = [p for p in core.PIPELINES if p not in groups]
    if missing:
        return f"no trained {' or '.join(missing)} in this run"
    ts = core.test_set(run_dir, results)
    if not ts.ids:
        return "no test images to show" + (f" ({'; '.join(ts.skipped[:3])})" if ts.skipped else "")
    preds, scored = {}, {}
    for pipeline in core.PIPELINES:
        name = groups[pipeline][0]
        preds[pipeline] = core.load_predictor(run_dir, results, name, device)
        scored[pipeline] = core.score_paths(preds[pipeline], pipeline, name, ts.paths)
    chosen = core.choose_examples(core.disagreement(scored["classifier"][0], scored["detector"][0]), n=n)
    cols = 4
    rows = (len(chosen) + cols - 1) // cols
    # per row an image and a caption strip below it: captions never run into the next row's images
    fig, axes = plt.subplots(
        rows * 2, cols, figsize=(cols * 3.4, rows * 4.6), squeeze=False, gridspec_kw={"height_ratios": [3, 1.5] * rows}
    )
    for ax in axes.flat:
        ax.axis("off")
    fig.subplots_adjust(left=0.02, right=0.98, top=1 - 1.0 / fig.get_figheight(), bottom=0.01, wspace=0.08, hspace=0.12)
    for k, i in enumerate(chosen):
        ax, cap = axes[2 * (k // cols), k % cols], axes[2 * (k // cols) + 1, k % cols]
        ax.axis("on")
        cls = core.Prediction(
            groups["classifier"][0],
            "classifier",
            ts.classes,
            scored["classifier"][0][i],
            preds["classifier"].thresholds,
        )
        det = core.Prediction(
            groups["detector"][0],
            "detector",
            ts.classes,
            scored["detector"][0][i],
            preds["detector"].thresholds,
            scored["detector"][1][i],
        )
        image = core.read_image(ts.paths[i])
        draw_prediction(ax, image, ts.classes, ts.truth[i], cls, det, title=ts.ids[i], fontsize=7.5, caption_ax=cap)
    n_top = min(len(chosen), max(n - 4, 0))
    fig.suptitle(
        f"{len(chosen)} test images: the {n_top} where the models' scores differ most, then random ones\n"
        "boxes at the detector's tuned per-class thresholds; red text = a mistake against the truth",
        fontsize=9,
    )
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_path, format="png", dpi=72)  # 12 photos: at 110 dpi the PNG alone was 1.3 MB
    plt.close(fig)
    return out_path


def render(run_dir: str | Path, results: dict, out_path: str | Path, keep_existing: bool = False) -> Path | str:
    """plot_predictions for the report: any failure is the reason, never a crash. An earlier PNG is
    deleted (it could contradict a changed results.json), unless `keep_existing`: the run's models or test images
    are gone, so the earlier PNG, drawn from them, is the only one there can be, and is kept."""
    out_path = Path(out_path)
    try:
        drawn = plot_predictions(run_dir, results, out_path)
    except Exception as exc:
        drawn = f"could not draw: {type(exc).__name__}: {exc}"
    if isinstance(drawn, str):
        if keep_existing and out_path.is_file():
            print(
                f"warning: {out_path} kept from an earlier render; it cannot be drawn again ({drawn})", file=sys.stderr
            )
            return out_path
        out_path.unlink(missing_ok=True)
    return drawn
