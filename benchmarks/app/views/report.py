"""Report: the run's headline table, its plots and every machine's latency, read from results.json and plots/."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from benchmarks.app import state


def _table(title: str, fn, results: dict) -> None:
    try:
        df = fn(results)
    except Exception as exc:  # a partial record shows what it has: a failure in the viewer is shown, not raised
        st.warning(f"{title}: n/a ({type(exc).__name__}: {exc})")
        return
    st.subheader(title)
    st.table(df.set_index(df.columns[0]))  # a static table: every row visible, no inner scroll bar


def render(ctx: state.Ctx) -> None:
    from benchmarks.report import tables  # deferred: pandas is heavy; the page imports it when it is shown

    r = ctx.results
    st.header("Report")
    profile = f", profile {r['profile']}" if r.get("profile") else ""
    st.caption(f"Run {r.get('run_id', Path(ctx.run_dir).name)}{profile}, created {r.get('created_utc', 'n/a')}")
    _table("Headline", tables.headline, r)
    st.subheader("Latency on every machine that measured this run")
    try:
        by_device = tables.latency_by_device(r)
    except Exception as exc:
        st.warning(f"latency: n/a ({type(exc).__name__}: {exc})")
        by_device = {}
    if not by_device:
        st.info("No latency recorded for this run.")
    for dev, df in by_device.items():
        st.markdown(f"**{dev}**: median ms per call")
        st.dataframe(df, hide_index=True)
    _table("Machines", tables.machine_table, r)
    plots = sorted((Path(ctx.run_dir) / "plots").glob("*.png"))
    st.subheader("Plots")
    if not plots:
        st.info(f"No plots in {Path(ctx.run_dir) / 'plots'}: `clsdet report {ctx.run_dir}` renders them.")
    for p in plots:
        st.image(str(p), caption=p.stem.replace("_", " "))
