"""Reports rendered from a run's results.json alone: report.md, a self-contained report.html, plots/*.png.

    render_reports(run_dir) -> {"report.md": Path, "report.html": Path, "plots/<name>.png": Path, ...}

Missing parts (a model that failed, an unavailable device, no history) show as "n/a (reason)"; rendering never
fails on partial data (STYLE.md 9). Only a missing or unreadable results.json is an error (record.RecordError).
A part of the run folder that is gone (a model folder, manifest.json, jobs/) is a warning on stderr and at the top
of the report, and a predictions plot that can no longer be drawn again is kept as it was, not deleted.
"""

from __future__ import annotations

import sys
from pathlib import Path


def render_reports(run_dir: str | Path, results: dict | None = None) -> dict[str, Path]:
    import matplotlib

    matplotlib.use("Agg")  # headless: reports are rendered on servers and in CI

    from benchmarks.record import load_results, results_path
    from benchmarks.report import document, html, markdown, plots, predictions
    from benchmarks.report.missing import missing_parts

    run_dir = Path(run_dir).resolve()
    if run_dir.suffix == ".json":
        run_dir = run_dir.parent
    if results is None:
        results = load_results(results_path(run_dir))
    gone = missing_parts(run_dir, results)
    for warning in gone:
        print(f"warning: {warning}", file=sys.stderr)
    drawn = plots.render_plots(results, run_dir / "plots")
    drawn["predictions"] = predictions.render(
        run_dir, results, run_dir / "plots" / "predictions.png", keep_existing=bool(gone)
    )
    blocks = document.build(results, drawn)
    blocks[1:1] = [("p", f"Warning: {w}.") for w in gone]  # under the title, before any figure they concern
    md = run_dir / "report.md"
    md.write_text(markdown.render(blocks, run_dir), encoding="utf-8")
    page = run_dir / "report.html"
    title = f"clsdet benchmark {results.get('run_id', run_dir.name)}"
    page.write_text(html.render(blocks, title), encoding="utf-8")
    out = {"report.md": md, "report.html": page}
    out.update({f"plots/{p.name}": p for p in drawn.values() if isinstance(p, Path)})
    return out
