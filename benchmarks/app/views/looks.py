"""Where the classifier looks: Grad-CAM of one class beside the detector's boxes of that class."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import streamlit as st

from benchmarks.app import charts, core, state
from benchmarks.app.cam import CamUnavailable, grad_cam
from benchmarks.app.views import pick
from benchmarks.predictions.draw import draw_prediction


def render(ctx: state.Ctx) -> None:
    st.header("Where the classifier looks")
    st.caption(
        "Grad-CAM on the classifier's last convolution: red is where the chosen class's score came from. Next to it "
        "the detector's boxes of that class. A map on the object means the classifier found it; a map elsewhere "
        "means it learned the context."
    )
    cls_name, det_name = ctx.chosen.get("classifier"), ctx.chosen.get("detector")
    if not cls_name:
        st.warning("This run has no trained classifier.")
        return
    images = pick.images(ctx, "cam", multiple=False)
    if not images:
        return
    image = images[0]
    cls = state.predict(ctx.run_dir, cls_name, ctx.device, image.data, image.label)
    best = int(np.argmax(cls.scores))
    k = st.selectbox(
        "Class",
        range(len(cls.classes)),
        index=best,
        format_func=lambda j: f"{cls.classes[j]} (classifier {cls.scores[j]:.2f})",
        key="cam_class",
    )
    c1, c2 = st.columns(2)
    with c1:
        try:
            heat = _cam(ctx, cls_name, image.data, image.label, int(k))
        except CamUnavailable as exc:
            st.info(f"Grad-CAM is {exc}.")
        else:
            fig = charts.cam_overlay(image.rgb, heat, f"classifier: where '{cls.classes[k]}' comes from")
            st.pyplot(fig, clear_figure=True, width="content")
            plt.close(fig)
    with c2:
        if not det_name:
            st.info("This run has no trained detector.")
            return
        det = state.predict(ctx.run_dir, det_name, ctx.device, image.data, image.label)
        fig, ax = plt.subplots(figsize=(4.2, 4.0 * image.rgb.shape[0] / max(image.rgb.shape[1], 1) + 1.1), dpi=100)
        draw_prediction(ax, image.rgb, det.classes, image.truth, detector=det, only_class=int(k))
        ax.set_title(f"detector: '{det.classes[k]}' boxes at its tuned threshold", fontsize=9, loc="left")
        fig.tight_layout()
        st.pyplot(fig, clear_figure=True, width="content")
        plt.close(fig)


@st.cache_data(show_spinner="computing Grad-CAM ...", max_entries=32)
def _cam(_ctx: state.Ctx, name: str, data: bytes, label: str, k: int) -> np.ndarray:
    return grad_cam(state.predictor(_ctx.run_dir, name, _ctx.device), core.decode_upload(data, label), k)
