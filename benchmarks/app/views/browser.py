"""Test-set browser: both models' decisions on the test images against the truth, largest disagreement first."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import streamlit as st

from benchmarks.app import state
from benchmarks.predictions.draw import draw_prediction
from benchmarks.predictions.images import read_image
from benchmarks.predictions.run import TestSet
from benchmarks.predictions.scoring import Prediction, disagreement

FILTERS = ("all", "classifier wrong", "detector wrong", "both wrong", "only one wrong")


def wrong(scores: np.ndarray, thresholds: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(N,) True where the model's decisions differ from the truth on a class the truth speaks about."""
    said = scores >= thresholds
    known = ~np.isnan(truth)
    return ((said != (truth == 1)) & known).any(axis=1)


def select(ts: TestSet, cls_scores, det_scores, cls_th, det_th, cls_filter: str | None, show: str) -> list[int]:
    """Indices of the test images to show: the filters applied, sorted by score disagreement (largest first)."""
    cw, dw = wrong(cls_scores, cls_th, ts.truth), wrong(det_scores, det_th, ts.truth)
    keep = {
        "all": np.ones(len(ts.ids), bool),
        "classifier wrong": cw,
        "detector wrong": dw,
        "both wrong": cw & dw,
        "only one wrong": cw ^ dw,
    }[show].copy()
    if cls_filter is not None:
        j = ts.classes.index(cls_filter)
        keep &= (ts.truth[:, j] == 1) | (cls_scores[:, j] >= cls_th[j]) | (det_scores[:, j] >= det_th[j])
    dis = disagreement(cls_scores, det_scores)
    return sorted(np.flatnonzero(keep).tolist(), key=lambda i: (-float(dis[i]), i))


def render(ctx: state.Ctx) -> None:
    st.header("Test-set browser")
    cls_name, det_name = ctx.chosen.get("classifier"), ctx.chosen.get("detector")
    ts = state.test_set(ctx.run_dir)
    for reason in ts.skipped:
        st.warning(f"test image left out: {reason}")
    if not (cls_name and det_name):
        st.warning("The browser compares both models; this run lacks one of them.")
        return
    if not ts.ids:
        st.warning("No test images to show.")
        return
    cls_scores, _ = state.test_scores(ctx.run_dir, cls_name, ctx.device)
    det_scores, det_boxes = state.test_scores(ctx.run_dir, det_name, ctx.device)
    cls_th = np.asarray(state.predictor(ctx.run_dir, cls_name, ctx.device).thresholds)
    det_th = np.asarray(state.predictor(ctx.run_dir, det_name, ctx.device).thresholds)
    c1, c2, c3 = st.columns([2, 2, 1])
    cls_filter = c1.selectbox(
        "Class", [None, *ts.classes], format_func=lambda c: "any" if c is None else c, key="browser_class"
    )
    show = c2.selectbox("Show", FILTERS, key="browser_show")
    limit = c3.number_input("At most", 1, 200, 12, key="browser_limit")
    chosen = select(ts, cls_scores, det_scores, cls_th, det_th, cls_filter, show)
    st.markdown(
        f"**{len(chosen)} of {len(ts.ids)} test images** match, largest score disagreement first "
        f"(showing {min(len(chosen), int(limit))}); decisions at the tuned thresholds, red = wrong."
    )
    cols = st.columns(3)
    for n, i in enumerate(chosen[: int(limit)]):
        cls = Prediction(cls_name, "classifier", ts.classes, cls_scores[i], cls_th)
        det = Prediction(det_name, "detector", ts.classes, det_scores[i], det_th, det_boxes[i])
        fig, ax = plt.subplots(figsize=(3.6, 4.6), dpi=100)
        draw_prediction(ax, read_image(ts.paths[i]), ts.classes, ts.truth[i], cls, det, title=ts.ids[i])
        fig.subplots_adjust(left=0.02, right=0.98, top=0.94, bottom=0.28)
        with cols[n % 3]:
            st.pyplot(fig, clear_figure=True, width="content")
        plt.close(fig)
