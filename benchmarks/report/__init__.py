"""Reports rendered from a run's results.json alone: report.md, a self-contained report.html, plots/*.png, and the
flat tables results.csv and latency.csv (report/flat.py).

    render_reports(run_dir) -> {"report.md": Path, "report.html": Path, "results.csv": Path, ..., "plots/<name>.png"}

Missing parts (a model that failed, an unavailable device, no history) show as "n/a (reason)"; rendering never
fails on partial data. Only a missing or unreadable results.json is an error (record.RecordError).
A part of the run folder that is gone (a model folder, manifest.json, jobs/) is a warning on stderr and at the top
of the report, and a predictions plot that can no longer be drawn again is kept as it was, not deleted.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from benchmarks.record import load_results, results_path
from benchmarks.report.missing import missing_parts

# what `clsdet report --format` can write; md and html share the plots, csv and json are the flat tables
FORMATS = ("md", "html", "csv", "json")
DEFAULT_FORMATS = ("md", "html", "csv")
TABLES_JSON = "tables.json"  # --format json: results.csv and latency.csv's rows as JSON records


def render_reports(run_dir: str | Path, results: dict | None = None, formats=DEFAULT_FORMATS) -> dict[str, Path]:
    # deferred: benchmarks.report.flat imports pandas
    from benchmarks.report import flat

    run_dir = Path(run_dir).resolve()
    if run_dir.suffix == ".json":
        run_dir = run_dir.parent
    if results is None:
        results = load_results(results_path(run_dir))
    out: dict[str, Path] = {}
    if "md" in formats or "html" in formats:
        out.update(_documents(run_dir, results, formats))
    if "csv" in formats:
        out.update(flat.write_flat(run_dir, results))
    if "json" in formats:
        doc = {"results": flat.results_rows(results), "latency": flat.latency_rows(results)}
        (run_dir / TABLES_JSON).write_text(json.dumps(doc, indent=1, default=str) + "\n")
        out[TABLES_JSON] = run_dir / TABLES_JSON
    return out


def _documents(run_dir: Path, results: dict, formats) -> dict[str, Path]:
    # deferred: matplotlib is heavy
    import matplotlib

    matplotlib.use("Agg")  # headless: reports are rendered on servers and in CI

    # deferred: benchmarks.report.document imports numpy, pandas
    from benchmarks.report import document, html, markdown, plots, predictions

    gone = missing_parts(run_dir, results)
    for warning in gone:
        print(f"warning: {warning}", file=sys.stderr)
    drawn = plots.render_plots(results, run_dir / "plots")
    drawn["predictions"] = predictions.render(
        run_dir, results, run_dir / "plots" / "predictions.png", keep_existing=bool(gone)
    )
    blocks = document.build(results, drawn)
    blocks[1:1] = [("p", f"Warning: {w}.") for w in gone]  # under the title, before any figure they concern
    out = {}
    if "md" in formats:
        md = run_dir / "report.md"
        md.write_text(markdown.render(blocks, run_dir), encoding="utf-8")
        out["report.md"] = md
    if "html" in formats:
        page = run_dir / "report.html"
        title = f"clsdet benchmark {results.get('run_id', run_dir.name)}"
        page.write_text(html.render(blocks, title), encoding="utf-8")
        out["report.html"] = page
    out.update({f"plots/{p.name}": p for p in drawn.values() if isinstance(p, Path)})
    return out
