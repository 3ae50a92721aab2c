"""The app's matplotlib figures other than draw_prediction: score bars with thresholds, a Grad-CAM overlay, and the
per-class decision table. No Streamlit here."""

from __future__ import annotations

import numpy as np

ON, OFF = "#2ca02c", "#b0b0b0"


def active_thresholds(tuned: np.ndarray, one: float | None) -> np.ndarray:
    """The thresholds in force: the tuned per-class ones, or one value for every class."""
    tuned = np.asarray(tuned, dtype=np.float32)
    return tuned.copy() if one is None else np.full_like(tuned, float(one))


def score_bars(classes: list[str], scores: np.ndarray, tuned: np.ndarray, active: np.ndarray, title: str):
    """Horizontal bars, one per class: green when the score reaches the active threshold; the tuned threshold is a
    black tick, an overriding threshold a red dashed line."""
    import matplotlib.pyplot as plt  # deferred: heavy; imported when a chart is drawn

    n = len(classes)
    fig, ax = plt.subplots(figsize=(4.6, 0.36 * n + 0.9), dpi=100)
    y = np.arange(n)
    on = np.asarray(scores) >= active
    ax.barh(y, scores, color=[ON if o else OFF for o in on], height=0.65)
    for i in range(n):
        ax.plot([tuned[i], tuned[i]], [i - 0.42, i + 0.42], color="black", linewidth=2)
        if not np.isclose(active[i], tuned[i]):
            ax.plot([active[i], active[i]], [i - 0.42, i + 0.42], color="#d62728", linewidth=1.5, linestyle="--")
        ax.text(1.02, i, f"{scores[i]:.2f}", va="center", fontsize=8, transform=ax.get_yaxis_transform())
    ax.set_yticks(y, classes, fontsize=9)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("score (black tick: tuned threshold; red dashes: the slider's)", fontsize=8)
    ax.set_title(title, fontsize=10, loc="left")
    ax.tick_params(axis="x", labelsize=8)
    fig.tight_layout()
    return fig


def cam_overlay(image_rgb: np.ndarray, heat: np.ndarray, title: str):
    import matplotlib.pyplot as plt  # deferred: heavy; imported when a chart is drawn

    fig, ax = plt.subplots(figsize=(4.2, 4.2 * image_rgb.shape[0] / max(image_rgb.shape[1], 1) + 0.4), dpi=100)
    ax.imshow(image_rgb)
    ax.imshow(heat, cmap="jet", alpha=0.45, vmin=0.0, vmax=1.0)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=9, loc="left")
    fig.tight_layout()
    return fig


def decision_table(classes: list[str], scores: np.ndarray, active: np.ndarray, truth_row: np.ndarray | None):
    """pandas DataFrame per class: score, threshold, decision, and against the truth (when known) right/wrong."""
    import pandas as pd  # deferred: heavy; imported when a table is shown

    rows = []
    for j, c in enumerate(classes):
        said = bool(scores[j] >= active[j])
        row = {"class": c, "score": round(float(scores[j]), 3), "threshold": round(float(active[j]), 3), "label": said}
        if truth_row is not None:
            t = truth_row[j]
            row["truth"] = "n/a" if np.isnan(t) else bool(t == 1)
            row["result"] = "" if np.isnan(t) else ("ok" if said == (t == 1) else ("missed" if t == 1 else "false"))
        rows.append(row)
    return pd.DataFrame(rows)
