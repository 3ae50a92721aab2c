"""Cached loaders for the app: models once per process (st.cache_resource), results and test-set scores once per
run. Everything is read from the run folder; nothing is written anywhere."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st

from benchmarks.app import core
from benchmarks.predictions import PredictionError
from benchmarks.predictions import run as run_parts
from benchmarks.predictions.scoring import Prediction, predict_encoded, score_paths
from benchmarks.record import model_pipeline


@st.cache_resource(show_spinner=False)
def device() -> str:
    return core.pick_device()


@st.cache_data(show_spinner=False)
def results(run_dir: str) -> dict:
    return core.load_run(run_dir)


@st.cache_resource(show_spinner="loading the model ...")
def predictor(run_dir: str, name: str, dev: str):
    return run_parts.load_predictor(Path(run_dir), results(run_dir), name, dev)


@st.cache_resource(show_spinner=False)
def test_set(run_dir: str) -> run_parts.TestSet:
    return run_parts.test_set(Path(run_dir), results(run_dir))


@st.cache_resource(show_spinner="scoring the test images ...")
def test_scores(run_dir: str, name: str, dev: str):
    """(N, C) scores on the test set and, for a box predictor, the boxes per image (else None)."""
    return score_paths(predictor(run_dir, name, dev), test_set(run_dir).paths)


@st.cache_data(show_spinner=False, max_entries=64)
def predict(run_dir: str, name: str, dev: str, data: bytes, label: str) -> Prediction:
    pipeline = model_pipeline(name, results(run_dir)["models"][name])
    return predict_encoded(predictor(run_dir, name, dev), pipeline, label, data)


@dataclass
class Image:
    """One image on a page: its name, encoded bytes (kept in memory only), RGB pixels and truth row if known."""

    label: str
    data: bytes
    rgb: np.ndarray
    truth: np.ndarray | None = None

    @property
    def key(self) -> str:
        return hashlib.sha1(self.data).hexdigest()[:12]


CTX_KEY = "clsdet_ctx"  # st.session_state: the Ctx main.py built for this rerun, read by the page scripts (routes/)


def show(render) -> None:
    """A page script's body: its view on this rerun's Ctx; a PredictionError (an AppError among them) is shown,
    not raised."""
    ctx = st.session_state.get(CTX_KEY)
    if ctx is None:  # main.py stopped before the pages (and said why)
        return
    try:
        render(ctx)
    except PredictionError as exc:
        st.error(str(exc))


@dataclass
class Ctx:
    run_dir: str
    results: dict
    device: str
    chosen: dict  # pipeline -> candidate name, for the registered pipelines in the run, in registry order

    @property
    def classes(self) -> list[str]:
        return list((self.results.get("data") or {}).get("classes") or [])
