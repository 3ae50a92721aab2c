"""The app with a third registered pipeline (the fake pipeline as `tagger`, tests/app/tiny_run.py): every page shows
it beside the two built-in ones, with no change to the app; and the browser's filters for any number of models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tiny_run import with_third_pipeline

from benchmarks.app.views.browser import filters, select
from benchmarks.predictions import run as run_parts  # a module: pytest would collect TestSet

MAIN = Path(__file__).resolve().parents[2] / "benchmarks" / "app" / "main.py"


@pytest.fixture
def app(run_dir, monkeypatch, tmp_path):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("CLSDET_APP_RUN_DIR", str(with_third_pipeline(run_dir, monkeypatch, tmp_path)))
    at = AppTest.from_file(str(MAIN), default_timeout=240).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _says(at) -> list[str]:
    return [m.value.split(" says:**")[0].lstrip("*") for m in at.markdown if " says:**" in m.value]


def test_every_page_shows_the_third_pipeline(app):
    assert [s.label for s in app.sidebar.selectbox] == ["Classifier", "Detector", "Tagger"]
    assert _says(app) == ["Classifier", "Detector", "Tagger"]
    assert len(app.dataframe) == 3
    app.radio(key="tagger_mode").set_value("one for every class").run()
    app.slider(key="tagger_threshold").set_value(0.0).run()
    assert app.dataframe[2].value["label"].all() and not np.allclose(app.dataframe[0].value["threshold"], 0.0)

    app.switch_page("routes/browser.py").run()
    assert not app.exception
    assert app.selectbox(key="browser_show").options == [
        "all", "classifier wrong", "detector wrong", "tagger wrong", "all wrong", "only one wrong",
    ]  # fmt: skip
    app.selectbox(key="browser_show").set_value("tagger wrong").run()
    assert not app.exception and any("test images** match" in m.value for m in app.markdown)

    app.switch_page("routes/looks.py").run()
    assert not app.exception
    assert [h.value for h in app.header] == ["Where the classifier and tagger look"]
    # the fake's network has no convolution: said, not drawn; the classifier's map and the detector's boxes are drawn
    no_cam = "Grad-CAM is not available for this backbone (Sequential has no Conv2d layer)."
    assert [i.value for i in app.info] == [no_cam]
    assert len([e for e in app.main if type(e).__name__ == "Image"]) == 2
    option = app.selectbox(key="cam_class").options[0]  # "circle (classifier 0.12, tagger 0.34)"
    assert "(classifier " in option and ", tagger " in option


def test_the_browser_filters_any_number_of_models():
    truth = np.array([[1, 0], [0, 1], [1, 1], [0, 0]], np.float32)
    ts = run_parts.TestSet(["a", "b", "c", "d"], ["a", "b", "c", "d"], truth, ["x", "y"], "t")
    th = {m: np.array([0.5, 0.5]) for m in ("p", "q", "r")}
    scores = {
        "p": truth.copy(),  # never wrong
        "q": np.array([[1, 0], [0, 1], [0, 0], [1, 0]], np.float32),  # wrong on c, d
        "r": np.array([[0, 0], [0, 1], [0, 0], [1, 0]], np.float32),  # wrong on a, c, d
    }
    assert filters(["p", "q"])[-2] == "both wrong" and filters(list(scores))[-2] == "all wrong"
    assert sorted(select(ts, scores, th, None, "q wrong")) == [2, 3]
    assert select(ts, scores, th, None, "all wrong") == []
    assert select(ts, scores, th, None, "only one wrong") == [0]
    two = {m: scores[m] for m in ("q", "r")}
    assert sorted(select(ts, two, th, None, "both wrong")) == [2, 3]
    assert select(ts, scores, th, "y", "all") == [2, 1]  # truth or a model says y; c's models differ, b's agree
    # largest disagreement first: a (p and q say x, r does not), c, d differ by 1; b not at all
    assert select(ts, scores, th, None, "all") == [0, 2, 3, 1]
