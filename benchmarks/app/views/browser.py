"""Test-set browser: every model's decisions on the test images against the truth, largest disagreement first."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import streamlit as st

from benchmarks.app import state
from benchmarks.predictions.draw import draw_prediction
from benchmarks.predictions.images import read_image
from benchmarks.predictions.run import TestSet
from benchmarks.predictions.scoring import Prediction, disagreement


def filters(models: list[str]) -> list[str]:
    """The "Show" choices for these models (pipeline names): all, each one wrong, all of them wrong ("both wrong"
    for two), only one wrong."""
    return ["all", *(f"{m} wrong" for m in models), "both wrong" if len(models) == 2 else "all wrong", "only one wrong"]


def wrong(scores: np.ndarray, thresholds: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(N,) True where the model's decisions differ from the truth on a class the truth speaks about."""
    said = scores >= thresholds
    known = ~np.isnan(truth)
    return ((said != (truth == 1)) & known).any(axis=1)


def select(ts: TestSet, scores: dict, thresholds: dict, cls_filter: str | None, show: str) -> list[int]:
    """Indices of the test images to show: the filters applied, sorted by score disagreement (largest first).

    scores, thresholds: per model (a pipeline name, as `filters` names it) its (N, C) test scores and (C,)
    thresholds."""
    wrongs = {m: wrong(scores[m], thresholds[m], ts.truth) for m in scores}
    n_wrong = np.sum(list(wrongs.values()), axis=0)
    keep = {
        "all": np.ones(len(ts.ids), bool),
        **{f"{m} wrong": w for m, w in wrongs.items()},
        "both wrong" if len(scores) == 2 else "all wrong": n_wrong == len(scores),
        "only one wrong": n_wrong == 1,
    }[show].copy()
    if cls_filter is not None:
        j = ts.classes.index(cls_filter)
        keep &= (ts.truth[:, j] == 1) | np.any([scores[m][:, j] >= thresholds[m][j] for m in scores], axis=0)
    dis = disagreement(*scores.values())
    return sorted(np.flatnonzero(keep).tolist(), key=lambda i: (-float(dis[i]), i))


def render(ctx: state.Ctx) -> None:
    st.header("Test-set browser")
    ts = state.test_set(ctx.run_dir)
    for reason in ts.skipped:
        st.warning(f"test image left out: {reason}")
    if len(ctx.chosen) < 2:
        st.warning(f"The browser compares the models; this run has only one ({', '.join(ctx.chosen)}).")
        return
    if not ts.ids:
        st.warning("No test images to show.")
        return
    scores, boxes, thresholds = {}, {}, {}
    for pipeline, name in ctx.chosen.items():
        scores[pipeline], boxes[pipeline] = state.test_scores(ctx.run_dir, name, ctx.device)
        thresholds[pipeline] = np.asarray(state.predictor(ctx.run_dir, name, ctx.device).thresholds)
    c1, c2, c3 = st.columns([2, 2, 1])
    cls_filter = c1.selectbox(
        "Class", [None, *ts.classes], format_func=lambda c: "any" if c is None else c, key="browser_class"
    )
    show = c2.selectbox("Show", filters(list(ctx.chosen)), key="browser_show")
    limit = c3.number_input("At most", 1, 200, 12, key="browser_limit")
    chosen = select(ts, scores, thresholds, cls_filter, show)
    st.markdown(
        f"**{len(chosen)} of {len(ts.ids)} test images** match, largest score disagreement first "
        f"(showing {min(len(chosen), int(limit))}); decisions at the tuned thresholds, red = wrong."
    )
    extra = 0.35 * (len(ctx.chosen) - 2)  # inches for the caption lines of models beyond two
    cols = st.columns(3)
    for n, i in enumerate(chosen[: int(limit)]):
        preds = [
            Prediction(name, p, ts.classes, scores[p][i], thresholds[p], None if boxes[p] is None else boxes[p][i])
            for p, name in ctx.chosen.items()
        ]
        fig, ax = plt.subplots(figsize=(3.6, 4.6 + extra), dpi=100)
        draw_prediction(ax, read_image(ts.paths[i]), ts.classes, ts.truth[i], preds, title=ts.ids[i])
        fig.subplots_adjust(left=0.02, right=0.98, top=0.94, bottom=(0.28 * 4.6 + extra) / (4.6 + extra))
        with cols[n % 3]:
            st.pyplot(fig, clear_figure=True, width="content")
        plt.close(fig)
