"""The Streamlit app driven by streamlit.testing.v1.AppTest on the session's tiny run: every page, an upload, a
broken upload, and the sliders changing the displayed labels as the thresholds say."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

MAIN = Path(__file__).resolve().parents[2] / "benchmarks" / "app" / "main.py"


@pytest.fixture
def app(run_dir, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("CLSDET_APP_RUN_DIR", str(run_dir))
    at = AppTest.from_file(str(MAIN), default_timeout=240).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _elements(at, kind: str) -> list:
    return [e for e in at.main if type(e).__name__ == kind]


def _says(at, who: str) -> list[str]:
    """The labels the page prints after '**Classifier says:**' (one entry per shown image)."""
    out = []
    for m in at.markdown:
        if m.value.startswith(f"**{who} says:**"):
            text = m.value.split(":**", 1)[1].strip()
            out.append("" if text == "nothing" else text)
    return out


def _label_names(text: str) -> set[str]:
    return set(re.findall(r"(\w+) \([0-9.]+\)", text))


def _check_tables(at) -> None:
    """Each decision table: label == (score >= threshold), and the sentence above it lists exactly those classes."""
    tables = [d.value for d in at.dataframe]
    says = _says(at, "Classifier") + _says(at, "Detector")
    assert len(tables) == len(says) >= 2
    for df, text in zip(tables, says):
        assert (df["label"] == (df["score"] >= df["threshold"] - 1e-3)).all()
        assert set(df.loc[df["label"], "class"]) == _label_names(text)


def test_predict_page_shows_both_models_on_a_test_image(app):
    assert [h.value for h in app.header] == ["Predict"]
    assert _says(app, "Classifier") and _says(app, "Detector")
    assert any(m.value.startswith("**Truth:**") for m in app.markdown)
    assert len(_elements(app, "Image")) == 2  # the score bars and the detector's boxes
    _check_tables(app)
    assert {"truth", "result"} <= set(app.dataframe[0].value.columns)  # a test image: right/wrong per class


def test_sliders_change_the_labels_as_the_thresholds_say(app, run_dir):
    tuned = app.dataframe[0].value["threshold"].to_numpy()
    app.radio(key="classifier_mode").set_value("one for every class").run()
    app.slider(key="classifier_threshold").set_value(0.0).run()
    df = app.dataframe[0].value
    assert np.allclose(df["threshold"], 0.0) and df["label"].all()
    assert _label_names(_says(app, "Classifier")[0]) == set(df["class"])
    app.slider(key="classifier_threshold").set_value(1.0).run()
    assert not app.dataframe[0].value["label"].any()
    assert _says(app, "Classifier") == [""]
    app.radio(key="detector_mode").set_value("one for every class").run()
    app.slider(key="detector_threshold").set_value(0.0).run()
    assert app.dataframe[1].value["label"].all()  # 0 >= 0: every class, boxes or not
    app.slider(key="detector_threshold").set_value(1.0).run()
    assert not app.dataframe[1].value["label"].any()
    app.radio(key="classifier_mode").set_value("tuned per class").run()
    assert np.allclose(app.dataframe[0].value["threshold"], tuned)
    _check_tables(app)


def test_upload_and_a_broken_upload(app, run_dir):
    good = next((run_dir / "latency_images").iterdir())
    app.radio(key="predict_source").set_value("Upload images").run()
    app.file_uploader(key="predict_upload").set_value(
        [(good.name, good.read_bytes(), "image/jpeg"), ("notes.txt", b"not an image", "text/plain")]
    ).run()
    assert not app.exception
    assert [e.value for e in app.error] == [
        "notes.txt: not an image (JPEG, PNG, BMP, WebP, GIF or TIFF); leave it out or convert it. The other images "
        "are still shown."
    ]
    assert f"#### {good.name}" in [m.value for m in app.markdown]
    assert len(_says(app, "Classifier")) == len(_says(app, "Detector")) == 1
    assert "truth" not in app.dataframe[0].value.columns  # an upload has no known truth
    _check_tables(app)


def test_where_the_classifier_looks(app):
    app.sidebar.radio(key="page").set_value("Where the classifier looks").run()
    assert not app.exception
    assert [h.value for h in app.header] == ["Where the classifier looks"]
    assert len(_elements(app, "Image")) == 2  # Grad-CAM overlay and the detector's boxes of that class
    n = len(app.selectbox(key="cam_class").options)
    app.selectbox(key="cam_class").set_value(n - 1).run()
    assert not app.exception and len(_elements(app, "Image")) == 2


def test_test_set_browser_filters(app, run_dir):
    from benchmarks.app import core

    app.sidebar.radio(key="page").set_value("Test-set browser").run()
    assert not app.exception
    n_test = len(core.test_set(run_dir, core.load_run(run_dir)).ids)
    counts = {}
    for show in ("all", "classifier wrong", "detector wrong", "both wrong"):
        app.selectbox(key="browser_show").set_value(show).run()
        line = next(m.value for m in app.markdown if "test images** match" in m.value)
        counts[show] = int(re.match(r"\*\*(\d+) of (\d+)", line).group(1))
        assert f"of {n_test} test images" in line
        assert len(_elements(app, "Image")) == min(counts[show], 12)
    assert counts["all"] == n_test
    assert counts["both wrong"] <= min(counts["classifier wrong"], counts["detector wrong"])
    app.number_input(key="browser_limit").set_value(2).run()
    assert len(_elements(app, "Image")) == min(counts["both wrong"], 2)


def test_report_page_reads_the_run(app, run_dir):
    from benchmarks.app import core

    app.sidebar.radio(key="page").set_value("Report").run()
    assert not app.exception and not app.warning
    subheaders = [s.value for s in app.subheader]
    assert "Headline" in subheaders and "Latency on every machine that measured this run" in subheaders
    assert any(m.value == "**cpu**: median ms per call" for m in app.markdown)
    headline = app.table[0].value
    names = [n for ns in core.candidates(core.load_run(run_dir)).values() for n in ns]
    assert all(any(n in str(col) for col in headline.columns) for n in names)  # one column per candidate
    assert len(_elements(app, "Image")) == len(list((run_dir / "plots").glob("*.png"))) > 0


def test_a_folder_without_results_is_a_clear_error(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("CLSDET_APP_RUN_DIR", str(tmp_path))
    at = AppTest.from_file(str(MAIN), default_timeout=60).run()
    assert not at.exception
    assert "results.json not found" in at.error[0].value
