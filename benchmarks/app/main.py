"""The Streamlit app on one finished run: `clsdet app [RUN_DIR]` starts it (benchmarks/commands/app.py).

The run folder comes from the command line (`streamlit run main.py -- RUN_DIR`) or $CLSDET_APP_RUN_DIR (tests).
Pages: Predict, Where the classifier looks, Test-set browser, Report (benchmarks/app/views/).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import streamlit as st

from benchmarks import runtime

runtime.state()  # offline Ultralytics/MLflow settings before anything imports them; keeps threads if already set

from benchmarks.app import core, state  # noqa: E402
from benchmarks.app.views import browser, looks, predict, report  # noqa: E402

PAGES = {
    "Predict": predict.render,
    "Where the classifier looks": looks.render,
    "Test-set browser": browser.render,
    "Report": report.render,
}


def run_dir_arg() -> str | None:
    if os.environ.get("CLSDET_APP_RUN_DIR"):
        return os.environ["CLSDET_APP_RUN_DIR"]
    return sys.argv[1] if len(sys.argv) > 1 else None


def main() -> None:
    st.set_page_config(page_title="clsdet: classifier vs detector", layout="wide")
    arg = run_dir_arg()
    if not arg:
        st.error("No run folder given: start the app with `clsdet app RUN_DIR`.")
        return
    run_dir = str(Path(arg).resolve())
    try:
        results = state.results(run_dir)
    except Exception as exc:  # a broken record: say which file and why, keep the page up
        st.error(str(exc))
        return
    groups = core.candidates(results)
    with st.sidebar:
        st.title("clsdet")
        st.caption(f"run `{Path(run_dir).name}`")
        page = st.radio("Page", list(PAGES), key="page")
        st.divider()
        chosen = {}
        for pipeline in core.PIPELINES:
            names = groups.get(pipeline) or []
            if names:
                chosen[pipeline] = st.selectbox(pipeline.capitalize(), names, key=f"candidate_{pipeline}")
        dev = state.device()
        st.caption(f"device: {dev}. Uploads stay in memory; nothing is written to the run folder.")
    if not chosen:
        st.error(f"{Path(run_dir) / 'results.json'}: no trained model (models.*.artifact); re-run `clsdet bench`.")
        return
    ctx = state.Ctx(run_dir=run_dir, results=results, device=dev, chosen=chosen)
    try:
        PAGES[page](ctx)
    except core.AppError as exc:
        st.error(str(exc))


main()
