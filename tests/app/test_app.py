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
    app.switch_page("routes/looks.py").run()
    assert not app.exception
    assert [h.value for h in app.header] == ["Where the classifier looks"]
    assert len(_elements(app, "Image")) == 2  # Grad-CAM overlay and the detector's boxes of that class
    n = len(app.selectbox(key="cam_class").options)
    app.selectbox(key="cam_class").set_value(n - 1).run()
    assert not app.exception and len(_elements(app, "Image")) == 2


def test_test_set_browser_filters(app, run_dir):
    from benchmarks.app import core
    from benchmarks.predictions import run as run_parts

    app.switch_page("routes/browser.py").run()
    assert not app.exception
    n_test = len(run_parts.test_set(run_dir, core.load_run(run_dir)).ids)
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
    from benchmarks.predictions import run as run_parts

    app.switch_page("routes/report.py").run()
    assert not app.exception and not app.warning
    subheaders = [s.value for s in app.subheader]
    assert "Headline" in subheaders and "Latency on every machine that measured this run" in subheaders
    assert any(m.value == "**cpu**: median ms per call" for m in app.markdown)
    headline = app.table[0].value
    names = [n for ns in run_parts.candidates(core.load_run(run_dir)).values() for n in ns]
    assert all(any(n in str(col) for col in headline.columns) for n in names)  # one column per candidate
    assert len(_elements(app, "Image")) == len(list((run_dir / "plots").glob("*.png"))) > 0


def test_a_folder_without_results_is_a_clear_error(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("CLSDET_APP_RUN_DIR", str(tmp_path))
    at = AppTest.from_file(str(MAIN), default_timeout=60).run()
    assert not at.exception
    assert "results.json not found" in at.error[0].value


def test_each_page_has_its_own_url_and_the_link_names_run_and_image(app, run_dir):
    from benchmarks.app import core
    from benchmarks.app.main import PAGES, ROUTES
    from benchmarks.predictions import run as run_parts

    assert len({url for _, _, url in PAGES}) == len(PAGES) and all((ROUTES / f).is_file() for f, _, _ in PAGES)
    ids = run_parts.test_set(run_dir, core.load_run(run_dir)).ids
    assert app.query_params == {"run": run_dir.name, "image": ids[0]}
    app.selectbox(key="predict_test").set_value(2).run()
    assert app.query_params["image"] == ids[2]
    app.switch_page("routes/looks.py").run()  # the image shown follows the user to the next page
    assert [h.value for h in app.header] == ["Where the classifier looks"]
    assert app.selectbox(key="cam_test").value == 2 and app.query_params["image"] == ids[2]
    app.switch_page("routes/report.py").run()
    assert [h.value for h in app.header] == ["Report"] and app.query_params["run"] == run_dir.name


def _opened(run_dir, monkeypatch, **params):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("CLSDET_APP_RUN_DIR", str(run_dir))
    at = AppTest.from_file(str(MAIN), default_timeout=240)
    at.query_params.update(params)
    return at.run()


def test_a_link_opens_its_image(run_dir, monkeypatch):
    from benchmarks.app import core
    from benchmarks.predictions import run as run_parts

    ids = run_parts.test_set(run_dir, core.load_run(run_dir)).ids
    at = _opened(run_dir, monkeypatch, run=run_dir.name, image=ids[3])
    assert not at.exception and at.selectbox(key="predict_test").value == 3
    assert any(m.value == f"#### {ids[3]}" for m in at.markdown)
    at = _opened(run_dir, monkeypatch, image="no-such-id")
    assert [w.value for w in at.warning] == [
        "The link's image 'no-such-id' is not a test image of this run; showing the first one."
    ]
    assert at.query_params["image"] == ids[0]


def test_a_link_opens_a_run_beside_the_given_one_and_names_an_unknown_one(run_dir, monkeypatch):
    other = run_dir.parent / f"{run_dir.name}-other"
    other.symlink_to(run_dir, target_is_directory=True)
    try:
        at = _opened(run_dir, monkeypatch, run=other.name)
        assert not at.exception and not at.error
        assert f"run `{other.name}`" in [c.value for c in at.sidebar.caption]
        assert set(at.sidebar.selectbox(key="run").options) == {run_dir.name, other.name}
        at.sidebar.selectbox(key="run").set_value(run_dir.name).run()
        assert at.query_params["run"] == run_dir.name
    finally:
        other.unlink()
    at = _opened(run_dir, monkeypatch, run="../../etc")
    assert not at.exception
    assert at.error[0].value.startswith(f"the link's run '../../etc' is not a finished run in {run_dir.parent}")
