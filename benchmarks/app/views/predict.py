"""Predict: every model side by side on uploaded or test images (one column per registered pipeline in the run, in
registry order), with their thresholds and sliders."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import streamlit as st

from benchmarks.app import charts, state
from benchmarks.app.views import pick
from benchmarks.predictions.draw import draw_prediction
from benchmarks.registry.pipelines import PIPELINES

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


def _score_meaning(pipeline: str) -> str:
    """What a pipeline's per-class score is (DESIGN.md, Scores): a box model's is its most confident box."""
    if PIPELINES[pipeline].uses_boxes:
        return f"the {pipeline}'s image score for a class is its most confident box of that class"
    return f"the {pipeline}'s score is its sigmoid output"


def render(ctx: state.Ctx) -> None:
    st.header("Predict")
    meaning = "; ".join(_score_meaning(p) for p in ctx.chosen)
    st.caption(
        f"Each model's per-class score and decision. {meaning[:1].upper()}{meaning[1:]}. Black ticks: the thresholds "
        "tuned on val."
    )
    absent = [p for p in PIPELINES if p not in ctx.chosen]
    if absent:
        st.caption(f"No trained {' or '.join(absent)} in this run.")
    images = pick.images(ctx, "predict")
    ones = {}
    for column, (pipeline, name) in zip(st.columns(len(ctx.chosen)), ctx.chosen.items()):
        with column:
            title = PIPELINES[pipeline].title
            st.markdown(f"##### {title} `{name}`")
            ones[pipeline] = threshold_controls(pipeline, title)
    for image in images:
        st.divider()
        _show(ctx, image, ones)


def _show(ctx, image: state.Image, ones: dict) -> None:
    st.markdown(f"#### {image.label}")
    if image.truth is not None:
        truth = [c for c, t in zip(ctx.classes, image.truth) if t == 1]
        st.markdown(f"**Truth:** {', '.join(truth) or 'none of the classes'}")
    for column, (pipeline, name) in zip(st.columns(len(ctx.chosen)), ctx.chosen.items()):
        with column:
            pred = state.predict(ctx.run_dir, name, ctx.device, image.data, image.label)
            active = charts.active_thresholds(pred.thresholds, ones[pipeline])
            st.markdown(f"**{PIPELINES[pipeline].title} says:** {_labels_line(pred, active)}")
            if pred.boxes is not None:  # a box model: its boxes on the image, by what it predicts, not by its name
                height = 4.0 * image.rgb.shape[0] / max(image.rgb.shape[1], 1) + 1.1
                fig, ax = plt.subplots(figsize=(4.2, height), dpi=100)
                draw_prediction(ax, image.rgb, pred.classes, image.truth, [pred], thresholds={name: active})
                fig.tight_layout()
            else:
                fig = charts.score_bars(pred.classes, pred.scores, pred.thresholds, active, f"{name}: sigmoid scores")
            st.pyplot(fig, clear_figure=True, width="content")
            plt.close(fig)
            st.dataframe(charts.decision_table(pred.classes, pred.scores, active, image.truth), hide_index=True)
