"""What the MLflow UI shows of a run besides params and metrics: the flat tables as `log_table` artifacts (MLflow's
evaluation view filters and compares them across runs) and the verdict as the parent run's description.

The budget and latency tables are the report step's results.csv and latency.csv, read back from the run folder
(tracking sits below the reports and does not import them); the per-class table is built here from results.json.
"""

from __future__ import annotations

from pathlib import Path

DESCRIPTION_TAG = "mlflow.note.content"  # what the MLflow UI shows (and edits) as a run's description
CSV_TABLES = {"results.csv": "tables/budget.json", "latency.csv": "tables/latency.json"}
PER_CLASS_TABLE = "tables/per_class.json"


def per_class_rows(results: dict) -> list[dict]:
    """One row per model x class: the headline test AP, F1, precision, recall, support and prevalence."""
    rows = []
    for model, entry in (results.get("models") or {}).items():
        per_class = (((entry or {}).get("accuracy") or {}).get("per_class")) or {}
        for cls, pc in per_class.items():
            plain = {k: v for k, v in (pc or {}).items() if not isinstance(v, dict | list)}
            rows.append({"model": model, "class": cls, **plain})
    return rows


def verdict_text(results: dict) -> str:
    verdict = (results.get("curve") or {}).get("verdict") or {}
    text = verdict.get("text") if isinstance(verdict, dict) else None
    return text or "n/a (no budget-curve verdict in this run's results.json)"


def description(results: dict) -> str:
    """Markdown: the verdict, then each candidate's headline macro AP with its CI."""
    lines = [f"**Verdict.** {verdict_text(results)}", ""]
    for model, entry in (results.get("models") or {}).items():
        acc = (entry or {}).get("accuracy") or {}
        ap, ci = acc.get("macro_ap"), acc.get("macro_ap_ci95") or []
        if isinstance(ap, int | float):
            bounds = f" [{ci[0]:.3f}, {ci[1]:.3f}]" if len(ci) == 2 and None not in ci else ""
            lines.append(f"- {model}: macro AP {ap:.3f}{bounds}")
    tables = ", ".join([*CSV_TABLES.values(), PER_CLASS_TABLE])
    lines.append(f"\nrun folder `{results.get('run_id', '?')}`; tables (artifacts): {tables}")
    return "\n".join(lines)


def _json_safe(df):
    """NaN and numpy scalars as null and plain numbers (log_table writes JSON)."""
    return df.astype(object).where(df.notna(), None)


def log_tables(client, run_id: str, results: dict, run_dir: Path) -> None:
    """The budget, latency and per-class tables (MlflowClient.log_table), and the description tag."""
    # deferred: pandas is heavy
    import pandas as pd

    # deferred: mlflow is heavy
    from mlflow.entities import RunTag

    for csv_name, artifact in CSV_TABLES.items():
        path = Path(run_dir) / csv_name
        if path.is_file() and path.stat().st_size:
            df = pd.read_csv(path)
            if not df.empty:
                client.log_table(run_id, _json_safe(df), artifact)
    rows = per_class_rows(results)
    if rows:
        client.log_table(run_id, _json_safe(pd.DataFrame(rows)), PER_CLASS_TABLE)
    client.log_batch(run_id, tags=[RunTag(DESCRIPTION_TAG, description(results))])
