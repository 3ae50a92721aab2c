"""Every model's decisions on one image, drawn once: the image, the boxes of each model that predicts boxes, and
under it the truth and one line per model (named by its pipeline: "classifier: circle 0.91 | missed star"), each
model's mistakes in red. Nothing here asks which pipeline a model belongs to: a Prediction with boxes draws them.

`draw_prediction` is the one renderer: the app's pages and the static report's plots/predictions.png call it.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence

import numpy as np

from benchmarks.predictions.scoring import Prediction, mistakes

# tab10 without red: red is reserved for mistakes in the captions
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
WRONG = "#d62728"


def class_color(index: int) -> str:
    return PALETTE[int(index) % len(PALETTE)]


def _labels_text(who: str, pred: Prediction, th: np.ndarray, truth_row) -> tuple[str, bool]:
    """'classifier: circle 0.91, star 0.40 | missed heart' and whether it made a mistake."""
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
    predictions: Sequence[Prediction] = (),
    thresholds: Mapping[str, np.ndarray] | None = None,
    box_conf: float | None = None,
    title: str | None = None,
    fontsize: float = 8.0,
    only_class: int | None = None,
    caption_ax=None,
) -> None:
    """Draw one image on a matplotlib Axes.

    predictions: benchmarks.predictions.scoring.Prediction, one per model, in caption order; thresholds: per model
    name, thresholds overriding its tuned ones (a slider's); box_conf: the lowest box confidence drawn (default: each
    model's thresholds, per class); only_class: draw only that class's boxes (the Grad-CAM page); caption_ax: an Axes
    for the caption (a grid), else under the image."""
    thresholds = thresholds or {}
    ax.imshow(image_rgb)
    ax.set_xticks([])
    ax.set_yticks([])
    height, width = image_rgb.shape[:2]
    for pred in predictions:
        if pred.boxes is not None:
            _draw_boxes(ax, pred, _thresholds(pred, thresholds), classes, box_conf, only_class, height, fontsize)
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    lines: list[tuple[str, str]] = []
    if truth_row is not None:
        known = [c for c, t in zip(classes, truth_row) if t == 1]
        lines.append((f"truth: {', '.join(known) or 'none of the classes'}", "black"))
    for pred in predictions:
        text, wrong = _labels_text(pred.pipeline, pred, _thresholds(pred, thresholds), truth_row)
        lines.append((text, WRONG if wrong else "black"))
    if title:
        ax.set_title(title, fontsize=fontsize, loc="left")
    _caption(caption_ax or ax, lines, fontsize, below=caption_ax is None)


def _thresholds(pred: Prediction, overrides: Mapping[str, np.ndarray]) -> np.ndarray:
    th = overrides.get(pred.name)
    return pred.thresholds if th is None else np.asarray(th, dtype=np.float32)


def _draw_boxes(ax, pred: Prediction, th, classes, box_conf, only_class, height: int, fontsize: float) -> None:
    from matplotlib.patches import Rectangle  # deferred: matplotlib is heavy; callers that never draw skip it

    for x1, y1, x2, y2, conf, cls in pred.boxes:
        k = int(cls)
        floor = th[k] if box_conf is None else box_conf
        if conf < floor or (only_class is not None and k != only_class):
            continue
        color = class_color(k)
        ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, edgecolor=color, linewidth=1.5))
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


def _caption(ax, lines: list[tuple[str, str]], fontsize: float, below: bool) -> None:
    """Wrapped caption lines at the Axes' width: under the image (below=True) or from the top of a caption Axes."""
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
