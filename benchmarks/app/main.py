"""The Streamlit app on one finished run: `clsdet app [RUN_DIR]` starts it (benchmarks/commands/app.py).

The run folder comes from the command line (`streamlit run main.py -- RUN_DIR`) or $CLSDET_APP_RUN_DIR (tests).
Pages (st.navigation, each with its URL; scripts in benchmarks/app/routes/, content in benchmarks/app/views/):
`/` Predict, `/looks` Where the classifier looks, `/browser` Test-set browser, `/report` Report. The URL carries
the run (`?run=NAME`, a run folder beside RUN_DIR) and, on Predict and Where the classifier looks, the test image
(`&image=ID`), so a link opens the same page on the same run and image.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import streamlit as st

from benchmarks import runtime

runtime.state()  # offline Ultralytics/MLflow settings before anything imports them; keeps threads if already set

from benchmarks.app import cam, core, state  # noqa: E402
from benchmarks.predictions.run import candidates  # noqa: E402
from benchmarks.registry.pipelines import PIPELINES  # noqa: E402

ROUTES = Path(__file__).parent / "routes"
# (script, title, url path): the first is the default page, served at "/"
PAGES = (
    ("predict.py", "Predict", "predict"),
    ("looks.py", cam.page_title(), "looks"),
    ("browser.py", "Test-set browser", "browser"),
    ("report.py", "Report", "report"),
)
RUN_KEY = "run"  # the sidebar's run selectbox, and the query parameter naming the run


def run_dir_arg() -> str | None:
    if os.environ.get("CLSDET_APP_RUN_DIR"):
        return os.environ["CLSDET_APP_RUN_DIR"]
    return sys.argv[1] if len(sys.argv) > 1 else None


def _pages() -> list:
    return [
        st.Page(str(ROUTES / script), title=title, url_path=url, default=i == 0)
        for i, (script, title, url) in enumerate(PAGES)
    ]


def _run(base: Path) -> Path:
    """The run to show: the sidebar's choice (kept across pages), else the link's ?run=, else RUN_DIR."""
    names = core.runs_beside(base)
    wanted = st.session_state.get(RUN_KEY) or st.query_params.get(RUN_KEY)
    run_dir = core.choose_run(base, wanted)  # an unknown name: AppError naming the runs there
    if len(names) > 1:
        run_dir = base.parent / st.sidebar.selectbox("Run", names, index=names.index(run_dir.name), key=RUN_KEY)
    st.query_params[RUN_KEY] = run_dir.name
    return run_dir


def main() -> None:
    st.set_page_config(page_title=f"clsdet: {' vs '.join(PIPELINES)}", layout="wide")
    st.session_state.pop(state.CTX_KEY, None)
    nav = st.navigation(_pages())  # every rerun, so each page keeps its URL even when this run cannot be shown
    arg = run_dir_arg()
    if not arg:
        st.error("No run folder given: start the app with `clsdet app RUN_DIR`.")
        return
    try:
        run_dir = str(_run(Path(arg).resolve()))
        results = state.results(run_dir)
    except Exception as exc:  # a broken record or an unknown ?run=: say which file and why, keep the page up
        st.error(str(exc))
        return
    groups = candidates(results)
    with st.sidebar:
        st.title("clsdet")
        st.caption(f"run `{Path(run_dir).name}`")
        st.divider()
        chosen = {}  # registry order: the pages show the pipelines in it
        for pipeline, p in PIPELINES.items():
            names = groups.get(pipeline) or []
            if names:
                chosen[pipeline] = st.selectbox(p.title, names, key=f"candidate_{pipeline}")
        dev = state.device()
        st.caption(f"device: {dev}. Uploads stay in memory; nothing is written to the run folder.")
    if not chosen:
        st.error(f"{Path(run_dir) / 'results.json'}: no trained model (models.*.artifact); re-run `clsdet bench`.")
        return
    st.session_state[state.CTX_KEY] = state.Ctx(run_dir=run_dir, results=results, device=dev, chosen=chosen)
    nav.run()


main()
