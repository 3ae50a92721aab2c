"""Predict: both models side by side on uploaded or test images, with their thresholds and sliders."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import streamlit as st

from benchmarks.app import charts, state
from benchmarks.app.views import pick
from benchmarks.predictions.draw import draw_prediction

TUNED, ONE = "tuned per class", "one for every class"


def threshold_controls(pipeline: str, what: str) -> float | None:
    """A decision-rule radio and a slider; returns the one threshold, or None for the tuned per-class ones."""
    mode = st.radio(f"{what} threshold", [TUNED, ONE], horizontal=True, key=f"{pipeline}_mode")
    value = st.slider(
        f"{what} threshold for every class",
        0.0,
        1.0,
        0.5,
        0.01,
        key=f"{pipeline}_threshold",
        disabled=mode == TUNED,
    )
    return None if mode == TUNED else float(value)


def _labels_line(pred, active: np.ndarray) -> str:
    labels = pred.labels(active)
    return ", ".join(f"{c} ({s:.2f})" for c, s in zip(pred.classes, pred.scores) if c in labels) or "nothing"


def render(ctx: state.Ctx) -> None:
    st.header("Predict")
    cls_name, det_name = ctx.chosen.get("classifier"), ctx.chosen.get("detector")
    st.caption(
        "Each model's per-class score and decision. The classifier's score is its sigmoid output; the detector's "
        "image score for a class is its most confident box of that class. Black ticks: the thresholds tuned on val."
    )
    images = pick.images(ctx, "predict")
    c1, c2 = st.columns(2)
    with c1:
        st.markdown(f"##### Classifier `{cls_name or 'none in this run'}`")
        cls_one = threshold_controls("classifier", "Classifier") if cls_name else None
    with c2:
        st.markdown(f"##### Detector `{det_name or 'none in this run'}`")
        det_one = threshold_controls("detector", "Detector") if det_name else None
    for image in images:
        st.divider()
        _show(ctx, image, cls_name, det_name, cls_one, det_one)


def _show(ctx, image: state.Image, cls_name, det_name, cls_one, det_one) -> None:
    st.markdown(f"#### {image.label}")
    if image.truth is not None:
        truth = [c for c, t in zip(ctx.classes, image.truth) if t == 1]
        st.markdown(f"**Truth:** {', '.join(truth) or 'none of the classes'}")
    c1, c2 = st.columns(2)
    if cls_name:
        with c1:
            pred = state.predict(ctx.run_dir, cls_name, ctx.device, image.data, image.label)
            active = charts.active_thresholds(pred.thresholds, cls_one)
            st.markdown(f"**Classifier says:** {_labels_line(pred, active)}")
            fig = charts.score_bars(pred.classes, pred.scores, pred.thresholds, active, f"{cls_name}: sigmoid scores")
            st.pyplot(fig, clear_figure=True, width="content")
            plt.close(fig)
            st.dataframe(charts.decision_table(pred.classes, pred.scores, active, image.truth), hide_index=True)
    if det_name:
        with c2:
            pred = state.predict(ctx.run_dir, det_name, ctx.device, image.data, image.label)
            active = charts.active_thresholds(pred.thresholds, det_one)
            st.markdown(f"**Detector says:** {_labels_line(pred, active)}")
            fig, ax = plt.subplots(figsize=(4.2, 4.0 * image.rgb.shape[0] / max(image.rgb.shape[1], 1) + 1.1), dpi=100)
            draw_prediction(ax, image.rgb, pred.classes, image.truth, detector=pred, detector_thresholds=active)
            fig.tight_layout()
            st.pyplot(fig, clear_figure=True, width="content")
            plt.close(fig)
            st.dataframe(charts.decision_table(pred.classes, pred.scores, active, image.truth), hide_index=True)
