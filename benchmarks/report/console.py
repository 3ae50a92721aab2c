"""What `clsdet bench` prints when it ends: the headline table, the verdict and the settings warnings, from
results.json alone."""

from __future__ import annotations

import textwrap


def verdict_text(results: dict) -> str:
    # deferred: benchmarks.report.settings imports numpy
    from benchmarks.report.settings import shown_verdict

    text = shown_verdict(results).get("text")
    return text or "n/a (no budget-curve verdict in this run's results.json)"


def settings_text(results: dict, width: int = 120) -> str:
    """The settings warnings (curve/warnings.py), one wrapped paragraph each; '' when there are none."""
    # deferred: benchmarks.curve.warnings imports numpy
    from benchmarks.curve.warnings import warning_lines

    # deferred: benchmarks.report.settings imports numpy
    from benchmarks.report.settings import settings_warnings

    lines = warning_lines(settings_warnings(results))
    return "\n".join(textwrap.fill(line, width=width, subsequent_indent="  ") for line in lines)


def headline_text(results: dict, width: int = 120) -> str:
    """The report's headline table (metric rows x candidates, display strings) and the verdict, wrapped."""
    # deferred: benchmarks.report.tables imports pandas
    from benchmarks.report import tables

    try:
        table = tables.headline(results).to_markdown(index=False)
    except Exception as exc:  # a partial record still ends the run with the verdict and the paths
        table = f"headline table: n/a ({exc.__class__.__name__}: {exc})"
    verdict = textwrap.fill(verdict_text(results), width=width, initial_indent="verdict: ", subsequent_indent="  ")
    settings = settings_text(results, width)
    return f"{table}\n\n{verdict}" + (f"\n\nSettings that decide the answer:\n{settings}" if settings else "")
