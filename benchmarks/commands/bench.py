"""`clsdet bench`, `clsdet latency`, `clsdet report`: the harness, re-measuring on other hardware, re-rendering."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from benchmarks.cli import CliError
from benchmarks.commands.args import add_set, device
from benchmarks.config import load_config
from benchmarks.harness import DEFAULT_RUNS, run_bench
from benchmarks.harness.budget import parse_duration
from benchmarks.harness.executors import list_executors  # light: no torch, no Ray
from benchmarks.harness.ray_executor import INSTALL_HINT
from benchmarks.harness.run_size import run_size_line
from benchmarks.measure.rounds import cell_medians, ratios
from benchmarks.record import (
    append_latency,
    load_results,
    model_pipeline,  # light: the standard library only
)
from benchmarks.registry.backends import DTYPES, list_backends
from benchmarks.report import DEFAULT_FORMATS, FORMATS, render_reports
from benchmarks.report.checks import FLOOR_METRICS, floor, run_checks
from benchmarks.report.console import headline_text
from benchmarks.runtime import check_writable

EXIT_CODES = (
    "exit codes: 0 the run finished (and every check asked for passed); 1 a check asked for failed (--strict, "
    "--fail-under) or a stage raised an unexpected error; 2 bad input (config, flags, files), with the fix; "
    "130 interrupted (Ctrl-C), 143 stopped by SIGTERM: --resume continues"
)

DEVICE_HELP = "auto, cpu, cuda, cuda:N (one GPU by its index) or mps"


def _common(p) -> None:
    p.add_argument("config", help="benchmark config (YAML), e.g. results/demo-data/clsdet.yaml")
    p.add_argument("--profile", help="a profile defined in the config (quick, full)")
    p.add_argument(
        "--device",
        nargs="+",
        type=device,
        metavar="DEVICE",
        help=f"training device (the first; it must be present) and latency devices: {DEVICE_HELP}",
    )
    p.add_argument("--out", help="runs folder (default: results/runs)")
    p.add_argument("--resume", action="store_true", help="continue the newest unfinished run of this config")
    add_set(p)
    p.add_argument("--tracking-uri", help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI or results/mlflow.db)")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: all cores available)")


def _executor_args(p) -> None:
    """Where the training jobs run (benchmarks/harness/executors.py); evaluation, latency and reports stay here."""
    p.add_argument(
        "--executor",
        choices=list_executors(),
        default="local",
        help="run the training jobs here in order (local), or as Ray tasks (ray: pip install clsdet-bench[ray]; the "
        "run folder must be on a filesystem every node shares, see README 'Team and cluster')",
    )
    p.add_argument(
        "--parallel",
        type=int,
        metavar="N",
        help="local executor: after the headline jobs (each alone, every thread), run the curve points N at a time "
        "in worker processes sharing the cores (default 1: one at a time, as make bench does)",
    )
    p.add_argument("--ray-address", help="Ray cluster: auto (on a cluster node) or ray://HEAD:10001; default: local")
    p.add_argument("--ray-num-cpus", type=int, help="CPUs of the local Ray instance (default: all)")
    p.add_argument("--ray-cpus-per-job", type=int, help="CPUs (and torch threads) per training job (default: 1)")


def executor_options(args) -> dict:
    opts = {
        "address": getattr(args, "ray_address", None),
        "num_cpus": getattr(args, "ray_num_cpus", None),
        "cpus_per_job": getattr(args, "ray_cpus_per_job", None),
    }
    opts = {k: v for k, v in opts.items() if v is not None}
    if opts and getattr(args, "executor", "local") != "ray":
        raise CliError("--ray-address, --ray-num-cpus and --ray-cpus-per-job need --executor ray")
    parallel = getattr(args, "parallel", None)
    if parallel is not None:
        if getattr(args, "executor", "local") != "local":
            raise CliError("--parallel is the local executor's; with --executor ray use --ray-cpus-per-job")
        if parallel < 1:
            raise CliError(f"--parallel {parallel}: expected an integer >= 1")
        opts["parallel"] = parallel
    if getattr(args, "executor", "local") == "ray" and importlib.util.find_spec("ray") is None:
        raise CliError(f"--executor ray needs Ray, which is not installed: {INSTALL_HINT}")
    return opts


def register(sub) -> None:
    p = sub.add_parser(
        "bench",
        help="train every candidate on the same split, measure, report, log to MLflow",
        description="Train every candidate on the same split, measure, report, log to MLflow. Ends by printing the "
        "headline table and the verdict, then the paths of results.json, report.md/html, results.csv, latency.csv.",
        epilog=EXIT_CODES,
    )
    _common(p)
    _check_args(p)
    p.add_argument(
        "--only-candidate",
        nargs="+",
        metavar="NAME",
        help="train only these candidates in the newest run of this data (implies --resume); the other "
        "candidates' finished trainings are reused, and every later stage re-runs over all of them",
    )
    _executor_args(p)
    p.add_argument(
        "--plan",
        action="store_true",
        help="print the jobs the run would train with each one's duration estimated on this machine (a few timed "
        "steps per model), write plan.json, and stop: nothing is trained or logged; `--resume` later continues it",
    )
    p.add_argument(
        "--time-budget",
        metavar="DURATION",
        help="fit the run into this wall time before it starts (e.g. 20m, 1h30m): fewer repeats, curve points, "
        "epochs (down to half), input size (as far as the objects allow), latency cells, in that order; what "
        "changed and what it weakens is printed and recorded in results.json",
    )
    p.add_argument(
        "--log-models",
        action="store_true",
        help="also log each candidate into MLflow: its weights and an mlflow.pyfunc model to register and serve "
        "(default: MLflow holds no weights; the run folder has them)",
    )
    p.set_defaults(func=bench_cmd)

    p = sub.add_parser("latency", help="re-measure a finished run's models on this machine (appends records)")
    p.add_argument("run_dir", help="a run folder (results/runs/<run-id>)")
    p.add_argument(
        "--device", nargs="+", default=["auto"], type=device, metavar="DEVICE", help=f"{DEVICE_HELP} (default: auto)"
    )
    p.add_argument("--batch-sizes", nargs="+", type=int, help="default: the run's config")
    p.add_argument("--iters", type=int, help="timed iterations at least (default: the run's config)")
    p.add_argument("--min-seconds", type=float, help="timed seconds at least (default: the run's config)")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: all cores available)")

    p.add_argument(
        "--backend", nargs="+", choices=list_backends(), help="deployment backends to time (default: the run's config)"
    )
    p.add_argument(
        "--dtype",
        nargs="+",
        choices=DTYPES,
        help="dtypes to time; unsupported ones are recorded unavailable (default: the run's config)",
    )
    p.add_argument("--rounds", type=int, help="interleaved rounds, every one kept (default: the run's config)")
    p.add_argument("--no-throughput", action="store_true", help="skip the peak-throughput batch sweep")
    p.add_argument(
        "--keep-exports",
        action="store_true",
        help="keep the ONNX files this call exports (default: the run's latency.keep_exports, normally deleted once "
        "timed)",
    )
    p.add_argument("--throughput-max-batch", type=int, help="largest batch of the sweep (default: the run's config)")
    p.add_argument("--no-gate", action="store_true", help="skip scoring each variant on the test images")
    p.set_defaults(func=latency_cmd)

    p = sub.add_parser(
        "report",
        help="re-render a run's reports (report.md/html, results.csv, latency.csv) from its results.json",
        epilog=EXIT_CODES,
    )
    p.add_argument("run_dir")
    p.add_argument(
        "--format",
        nargs="+",
        choices=FORMATS,
        default=list(DEFAULT_FORMATS),
        help="what to write: md (report.md), html (report.html), csv (results.csv + latency.csv), json (tables.json:"
        f" the same two tables as JSON records); default: {' '.join(DEFAULT_FORMATS)}",
    )
    _check_args(p)
    p.set_defaults(func=report_cmd)


def _check_args(p) -> None:
    """--strict and --fail-under: exit 1 for CI (benchmarks/report/checks.py), after everything is written."""
    p.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 when a training job (a budget-curve point), a stage or a latency variant's accuracy gate failed "
        "(default: these are recorded and reported, and the exit code is 0)",
    )
    p.add_argument(
        "--fail-under",
        action="append",
        type=floor,
        metavar="METRIC=VALUE",
        help=f"exit 1 when a candidate's headline test metric (all train images, first seed) is below VALUE, or "
        f"missing; METRIC: {', '.join(FLOOR_METRICS)}; repeatable, e.g. --fail-under macro_ap=0.6",
    )


def load_bench_config(args, extra: list[str] | None = None):
    overrides = list(args.overrides or []) + list(extra or [])
    if getattr(args, "tracking_uri", None):
        overrides.append(f"mlflow.tracking_uri={args.tracking_uri}")
    if getattr(args, "log_models", False):
        overrides.append("mlflow.log_models=true")
    return load_config(args.config, profile=args.profile, overrides=overrides)


def bench_cmd(args) -> int:
    opts = executor_options(args)  # before any stage runs: a wrong flag or a missing Ray fails now
    cfg = load_bench_config(args)
    only = getattr(args, "only_candidate", None)
    budget = None
    if args.time_budget is not None:
        budget = parse_duration(args.time_budget)  # a bad duration fails now, before a run folder exists
    run_dir = run_bench(
        cfg,
        Path(args.out) if args.out else DEFAULT_RUNS,
        resume=args.resume or bool(only),
        devices=args.device,
        only_candidates=only,
        executor=getattr(args, "executor", "local"),
        executor_options=opts,
        time_budget=budget,
        plan_only=args.plan,
    )
    if args.plan:
        print(f"\nplan only: nothing trained. The plan: {run_dir / 'plan.json'}; `clsdet bench {args.config} ... "
              "--resume` (the same flags) trains it in this folder")  # fmt: skip
        return 0

    results = load_results(run_dir)
    print()
    print(headline_text(results))
    print()
    print(f"results:  {run_dir / 'results.json'}")
    print(f"report:   {run_dir / 'report.md'}")
    print(f"          {run_dir / 'report.html'}")
    print(f"tables:   {run_dir / 'results.csv'}")
    print(f"          {run_dir / 'latency.csv'}")
    print(run_size_line(run_dir))
    return run_checks(results, args.strict, args.fail_under)


def latency_cmd(args) -> int:
    # deferred: benchmarks.measure.gate imports numpy
    from benchmarks.measure.gate import gate_test_set

    # deferred: benchmarks.measure.run_latency imports numpy
    from benchmarks.measure.run_latency import latency_images, measure_models

    run_dir = check_writable(Path(args.run_dir).resolve(), "the run folder", "copy it somewhere writable first")
    results = load_results(run_dir)
    if not latency_images(run_dir):
        raise CliError(
            f"{run_dir / 'latency_images'} is missing or empty: end-to-end latency needs the run's encoded test "
            "images; copy the whole run folder (or re-run `clsdet bench ... --resume` to write them)"
        )
    settings = dict(results["config"]["latency"])
    cli = {
        "devices": args.device, "batch_sizes": args.batch_sizes, "iters": args.iters, "min_seconds": args.min_seconds,
        "threads": args.threads, "backends": args.backend, "dtypes": args.dtype, "rounds": args.rounds,
        "throughput_max_batch": args.throughput_max_batch, "throughput": False if args.no_throughput else None,
        "keep_exports": True if args.keep_exports else None,
    }  # fmt: skip
    settings.update({k: v for k, v in cli.items() if v is not None})
    models = run_models(run_dir, results)
    test = None if args.no_gate else gate_test_set(run_dir)
    records = measure_models(run_dir, models, settings, test=test)
    for cand in models:
        append_latency(run_dir, cand, [r for r in records if r["model"] == cand])
    print_summary(records, list(models), ratios)
    for kind, p in render_reports(run_dir).items():
        print(f"{kind}: {p}")
    return 0


def run_models(run_dir: Path, results: dict) -> dict[str, tuple[str, Path]]:
    """candidate -> (pipeline, artifact dir) of a finished run (`pipeline` defaults to the candidate's name)."""
    out = {}
    for name, entry in (results.get("models") or {}).items():
        if isinstance(entry, dict) and entry.get("artifact"):
            out[name] = (model_pipeline(name, entry), run_dir / entry["artifact"])
    return out


def print_summary(records: list[dict], names: list[str], ratios) -> None:
    for key, sp in cell_medians(records).items():
        model, _, _, device, backend, dtype, scope, bs = key
        print(f"{model} {device} {backend} {dtype} b{bs} {scope}: p50 {sp['median']:.2f} ms "
              f"(rounds {sp['n_rounds']}, spread {sp['spread_pct']:.1f}%)")  # fmt: skip
    for r in records:
        if r.get("kind") == "peak_throughput" and r["status"] == "ok":
            print(f"{r['model']} {r['device']} {r['backend']} {r['dtype']}: peak {r['throughput_img_s']:.1f} img/s "
                  f"at batch {r['batch_size']} ({r['stop']})")  # fmt: skip
        elif r.get("kind") == "timer_check" and r["status"] == "ok":
            print(f"{r['model']} timer check: harness {r['harness_ms']:.3f} ms vs torch Timer "
                  f"{r['torch_timer_ms']:.3f} ms ({r['diff_pct']:+.1f}%)")  # fmt: skip
        elif r["status"] not in ("ok",):
            print(f"{r['model']} {r['device']} {r.get('backend')} {r.get('dtype')} b{r['batch_size']} "
                  f"{r['scope']}: {r['status']} {r.get('error') or ''}")  # fmt: skip
    for num in names[1:]:
        for q in ratios(records, num, names[0]):
            print(f"ratio {num}/{names[0]} {q['device']} {q['backend']} {q['dtype']} b{q['batch_size']} "
                  f"{q['scope']}: {q['ratio_median']:.3f} [{q['ratio_min']:.3f}, {q['ratio_max']:.3f}]")  # fmt: skip


def report_cmd(args) -> int:
    run_dir = check_writable(Path(args.run_dir).resolve(), "the run folder", "copy it somewhere writable first")
    results = load_results(run_dir)
    for kind, p in render_reports(run_dir, results, formats=args.format).items():
        print(f"{kind}: {p}")
    return run_checks(results, args.strict, args.fail_under)
