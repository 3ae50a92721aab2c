"""`clsdet log RUN_DIR [--tracking-uri URI]`: log a finished run folder to an MLflow store afterwards (a tracking
server that was down during the benchmark, or another store)."""

from __future__ import annotations

from pathlib import Path

from benchmarks.lock import hold_run_folder
from benchmarks.record import load_results
from benchmarks.runtime import check_writable
from benchmarks.tracking import log_results, start_session
from benchmarks.tracking.session import ending


def register(sub) -> None:
    p = sub.add_parser(
        "log",
        help="log a finished run folder (results.json, reports, plots) to an MLflow tracking store",
        description="Log a finished run folder to MLflow: what `clsdet bench` logs at its end, for a run whose "
        "tracking server did not answer, or into another store. The same store as the run's reopens its runs "
        "(nothing is logged twice); another store gets new ones.",
        epilog="exit codes: 0 all of it logged; 1 the server stopped answering part-way (what was not logged is "
        "listed; run it again); 2 bad input (no results.json, a store that cannot be opened)",
    )
    p.add_argument("run_dir", help="a run folder (results/runs/<run-id>)")
    p.add_argument(
        "--tracking-uri",
        help="MLflow tracking URI, e.g. http://HOST:5000 or sqlite:///path/mlflow.db (default: the run's "
        "mlflow.tracking_uri, else $MLFLOW_TRACKING_URI, else results/mlflow.db)",
    )
    p.add_argument("--experiment", help="MLflow experiment (default: the run's mlflow.experiment, else clsdet)")
    p.add_argument("--log-models", action="store_true", help="also copy the trained weights into MLflow")
    p.set_defaults(func=log_cmd)


def log_cmd(args) -> int:
    run_dir = check_writable(Path(args.run_dir).resolve(), "the run folder", "copy it somewhere writable first")
    results = load_results(run_dir)  # a missing or damaged results.json: one error line before a store is opened
    with hold_run_folder(run_dir):  # not a folder a running bench is still writing
        session = start_session(results, run_dir, args.tracking_uri, args.experiment)
        with ending(session.end):
            log_results(run_dir, session=session, log_models=args.log_models or None)
    where = session["tracking_uri"]
    if session.not_logged():
        print(f"not all of {run_dir} was logged to {where} (listed above); run the same command again")
        return 1
    nested = ", ".join(f"{k} {v}" for k, v in session.nested.items())
    print(f"logged {run_dir} to {where}: parent run {session['parent']}{'; ' + nested if nested else ''}")
    return 0
