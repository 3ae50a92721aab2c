"""Where the classifier looks: Grad-CAM of one class for each model it can explain (benchmarks/app/cam.py: explains),
beside the boxes of that class of each model that predicts boxes."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import streamlit as st

from benchmarks.app import cam, charts, core, state
from benchmarks.app.views import pick
from benchmarks.predictions.draw import draw_prediction
from benchmarks.registry.pipelines import PIPELINES


def render(ctx: state.Ctx) -> None:
    st.header(cam.page_title())
    explained = {p: n for p, n in ctx.chosen.items() if cam.explains(p)}
    # the box models: by what a pipeline trains on, so a run's box pipelines sit beside the maps whatever their names
    boxed = {p: n for p, n in ctx.chosen.items() if PIPELINES[p].uses_boxes}
    box_names = [p for p, q in PIPELINES.items() if q.uses_boxes]
    cam_names = " and ".join(p for p in PIPELINES if cam.explains(p)) or "model"
    st.caption(
        f"Grad-CAM on the {cam_names}'s last convolution: red is where the chosen class's score came from. Next to it "
        f"the {' and '.join(box_names) or 'box model'}'s boxes of that class. A map on the object means the "
        f"{cam_names} found it; a map elsewhere means it learned the context."
    )
    if not explained:
        st.warning(f"This run has no trained {cam_names}.")
        return
    images = pick.images(ctx, "cam", multiple=False)
    if not images:
        return
    image = images[0]
    preds = {p: state.predict(ctx.run_dir, n, ctx.device, image.data, image.label) for p, n in explained.items()}
    first = next(iter(preds.values()))
    k = st.selectbox(
        "Class",
        range(len(first.classes)),
        index=int(np.argmax(first.scores)),
        format_func=lambda j: f"{first.classes[j]} ({', '.join(f'{p} {q.scores[j]:.2f}' for p, q in preds.items())})",
        key="cam_class",
    )
    columns = iter(st.columns(len(explained) + max(len(boxed), 1 if box_names else 0)))
    for pipeline, name in explained.items():
        with next(columns):
            try:
                heat = _cam(ctx, name, image.data, image.label, int(k))
            except cam.CamUnavailable as exc:
                st.info(f"Grad-CAM is {exc}.")
            else:
                title = f"{pipeline}: where '{first.classes[k]}' comes from"
                fig = charts.cam_overlay(image.rgb, heat, title)
                st.pyplot(fig, clear_figure=True, width="content")
                plt.close(fig)
    if box_names and not boxed:
        with next(columns):
            st.info(f"This run has no trained {' or '.join(box_names)}.")
    for pipeline, name in boxed.items():
        with next(columns):
            det = state.predict(ctx.run_dir, name, ctx.device, image.data, image.label)
            height = 4.0 * image.rgb.shape[0] / max(image.rgb.shape[1], 1) + 1.1
            fig, ax = plt.subplots(figsize=(4.2, height), dpi=100)
            draw_prediction(ax, image.rgb, det.classes, image.truth, [det], only_class=int(k))
            ax.set_title(f"{pipeline}: '{det.classes[k]}' boxes at its tuned threshold", fontsize=9, loc="left")
            fig.tight_layout()
            st.pyplot(fig, clear_figure=True, width="content")
            plt.close(fig)


@st.cache_data(show_spinner="computing Grad-CAM ...", max_entries=32)
def _cam(_ctx: state.Ctx, name: str, data: bytes, label: str, k: int) -> np.ndarray:
    return cam.grad_cam(state.predictor(_ctx.run_dir, name, _ctx.device), core.decode_upload(data, label), k)
