"""Choosing images on a page: uploads (decoded in memory, never saved) or the run's test images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from benchmarks.app import core, state

UPLOAD, TEST = "Upload images", "A test image"


def _test_label(ts: core.TestSet, i: int) -> str:
    truth = [c for c, t in zip(ts.classes, ts.truth[i]) if t == 1]
    return f"{ts.ids[i]}  (truth: {', '.join(truth) or 'none'})"


def images(ctx: state.Ctx, key: str, multiple: bool = True) -> list[state.Image]:
    """The images the user chose; an unreadable upload shows st.error and is left out (the rest still show)."""
    ts = state.test_set(ctx.run_dir)
    sources = [TEST, UPLOAD] if ts.ids else [UPLOAD]
    source = st.radio("Images", sources, horizontal=True, key=f"{key}_source")
    if source == TEST:
        i = st.selectbox("Test image", range(len(ts.ids)), format_func=lambda i: _test_label(ts, i), key=f"{key}_test")
        data = Path(ts.paths[i]).read_bytes()
        return [state.Image(ts.ids[i], data, core.decode_upload(data, ts.ids[i]), np.asarray(ts.truth[i]))]
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
        except core.AppError as exc:
            st.error(f"{exc}. The other images are still shown.")
    if not files:
        st.info("Upload one or more images (JPEG, PNG, BMP, WebP, TIFF).")
    return out
