"""What `clsdet bench` prints when it ends: the headline table and the verdict, from results.json alone."""

from __future__ import annotations

import textwrap


def verdict_text(results: dict) -> str:
    verdict = (results.get("curve") or {}).get("verdict") or {}
    text = verdict.get("text") if isinstance(verdict, dict) else None
    return text or "n/a (no budget-curve verdict in this run's results.json)"


def headline_text(results: dict, width: int = 120) -> str:
    """The report's headline table (metric rows x candidates, display strings) and the verdict, wrapped."""
    from benchmarks.report import tables

    try:
        table = tables.headline(results).to_markdown(index=False)
    except Exception as exc:  # a partial record still ends the run with the verdict and the paths
        table = f"headline table: n/a ({exc.__class__.__name__}: {exc})"
    verdict = textwrap.fill(verdict_text(results), width=width, initial_indent="verdict: ", subsequent_indent="  ")
    return f"{table}\n\n{verdict}"
