"""Choosing images on a page: uploads (decoded in memory, never saved) or the run's test images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from benchmarks.app import core, state
from benchmarks.predictions import PredictionError
from benchmarks.predictions.run import TestSet

UPLOAD, TEST = "Upload images", "A test image"
IMAGE_PARAM = "image"  # the query parameter (and session key) naming the test image shown


def _test_label(ts: TestSet, i: int) -> str:
    truth = [c for c, t in zip(ts.classes, ts.truth[i]) if t == 1]
    return f"{ts.ids[i]}  (truth: {', '.join(truth) or 'none'})"


def _linked_image(ts: TestSet) -> int:
    """The index of the test image the link names (`?image=ID`), else the one last shown on any page, else 0."""
    wanted = st.query_params.get(IMAGE_PARAM) or st.session_state.get(IMAGE_PARAM)
    if wanted and wanted not in ts.ids:
        st.warning(f"The link's image {wanted!r} is not a test image of this run; showing the first one.")
        return 0
    return ts.ids.index(wanted) if wanted else 0


def images(ctx: state.Ctx, key: str, multiple: bool = True) -> list[state.Image]:
    """The images the user chose; an unreadable upload shows st.error and is left out (the rest still show)."""
    ts = state.test_set(ctx.run_dir)
    sources = [TEST, UPLOAD] if ts.ids else [UPLOAD]
    source = st.radio("Images", sources, horizontal=True, key=f"{key}_source")
    if source == TEST:
        i = st.selectbox(
            "Test image",
            range(len(ts.ids)),
            index=_linked_image(ts),
            format_func=lambda i: _test_label(ts, i),
            key=f"{key}_test",
        )
        st.query_params[IMAGE_PARAM] = st.session_state[IMAGE_PARAM] = ts.ids[i]  # the link names this image
        data = Path(ts.paths[i]).read_bytes()
        return [state.Image(ts.ids[i], data, core.decode_upload(data, ts.ids[i]), np.asarray(ts.truth[i]))]
    st.query_params.pop(IMAGE_PARAM, None)  # an upload has no link
    files = st.file_uploader(
        f"Images (up to {core.MAX_UPLOAD_MB} MB each; kept in memory only)",
        accept_multiple_files=multiple,
        key=f"{key}_upload",
    )
    files = [f for f in (files if isinstance(files, list) else [files]) if f is not None]
    out = []
    for f in files:
        data = f.getvalue()
        try:
            out.append(state.Image(f.name, data, core.decode_upload(data, f.name)))
        except PredictionError as exc:
            st.error(f"{exc}. The other images are still shown.")
    if not files:
        st.info("Upload one or more images (JPEG, PNG, BMP, WebP, TIFF).")
    return out
