"""`clsdet bench`, `clsdet latency`, `clsdet report`: the harness, re-measuring on other hardware, re-rendering."""

from __future__ import annotations

from pathlib import Path

DEVICES = ("auto", "cpu", "cuda", "mps")


def _common(p) -> None:
    p.add_argument("config", help="benchmark config (YAML), e.g. results/demo-data/clsdet.yaml")
    p.add_argument("--profile", help="a profile defined in the config (quick, full)")
    p.add_argument("--device", nargs="+", choices=DEVICES, help="training device (the first) and latency devices")
    p.add_argument("--out", help="runs folder (default: results/runs)")
    p.add_argument("--resume", action="store_true", help="continue the newest unfinished run of this config")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set classifier.epochs=5 (repeatable)",
    )
    p.add_argument("--tracking-uri", help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI or results/mlflow.db)")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: all cores available)")


def register(sub) -> None:
    p = sub.add_parser("bench", help="train every candidate on the same split, measure, report, log to MLflow")
    _common(p)
    p.add_argument(
        "--only-candidate",
        nargs="+",
        metavar="NAME",
        help="train only these candidates in the newest run of this data (implies --resume); the other "
        "candidates' finished trainings are reused, and every later stage re-runs over all of them",
    )
    p.set_defaults(func=bench_cmd)

    p = sub.add_parser("latency", help="re-measure a finished run's models on this machine (appends records)")
    p.add_argument("run_dir", help="a run folder (results/runs/<run-id>)")
    p.add_argument("--device", nargs="+", default=["auto"], choices=DEVICES)
    p.add_argument("--batch-sizes", nargs="+", type=int, help="default: the run's config")
    p.add_argument("--iters", type=int, help="timed iterations at least (default: the run's config)")
    p.add_argument("--min-seconds", type=float, help="timed seconds at least (default: the run's config)")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: all cores available)")
    p.set_defaults(func=latency_cmd)

    p = sub.add_parser("report", help="re-render a run's report.md/report.html from its results.json")
    p.add_argument("run_dir")
    p.set_defaults(func=report_cmd)


def load_bench_config(args, extra: list[str] | None = None):
    from benchmarks.config import load_config

    overrides = list(args.overrides or []) + list(extra or [])
    if getattr(args, "tracking_uri", None):
        overrides.append(f"mlflow.tracking_uri={args.tracking_uri}")
    return load_config(args.config, profile=args.profile, overrides=overrides)


def bench_cmd(args) -> int:
    from benchmarks.harness import DEFAULT_RUNS, run_bench

    cfg = load_bench_config(args)
    only = getattr(args, "only_candidate", None)
    run_dir = run_bench(
        cfg,
        Path(args.out) if args.out else DEFAULT_RUNS,
        resume=args.resume or bool(only),
        devices=args.device,
        only_candidates=only,
    )
    print()
    print(f"results:  {run_dir / 'results.json'}")
    print(f"report:   {run_dir / 'report.md'}")
    print(f"          {run_dir / 'report.html'}")
    return 0


def latency_cmd(args) -> int:
    from benchmarks.measure.latency import measure_predictor
    from benchmarks.record import append_latency, load_results
    from benchmarks.report import render_reports

    run_dir = Path(args.run_dir).resolve()
    results = load_results(run_dir)
    lc = results["config"]["latency"]
    # the encoded test images the run timed, kept in the run folder (so this works on another machine)
    encoded = [p.read_bytes() for p in sorted((run_dir / "latency_images").glob("*")) if p.is_file()]
    if not encoded:
        from benchmarks.cli import CliError

        raise CliError(
            f"{run_dir / 'latency_images'} is missing or empty: end-to-end latency needs the run's encoded test "
            "images; copy the whole run folder (or re-run `clsdet bench ... --resume` to write them)"
        )
    from benchmarks.pipelines import load_predictor

    for model, entry in results["models"].items():
        artifact = run_dir / entry["artifact"]
        pipeline = entry.get("pipeline", model)
        records = measure_predictor(
            load_predictor(pipeline, artifact, "cpu"),
            model,
            args.device,
            args.batch_sizes or lc["batch_sizes"],
            lc["scopes"],
            encoded,
            warmup=lc["warmup"],
            iters=lc["iters"] if args.iters is None else args.iters,
            min_seconds=lc["min_seconds"] if args.min_seconds is None else args.min_seconds,
            threads=args.threads or lc.get("threads"),
            load_on=lambda d, p=pipeline, a=artifact: load_predictor(p, a, d),
        )
        for r in records:
            r["pipeline"] = pipeline
        append_latency(run_dir, model, records)
        for r in records:
            p50 = f"p50 {r['latency_ms_p50']:.2f} ms" if r["status"] == "ok" else r["status"]
            print(f"{model} {r['device']} b{r['batch_size']} {r['scope']}: {p50}")
    for kind, p in render_reports(run_dir).items():
        print(f"{kind}: {p}")
    return 0


def report_cmd(args) -> int:
    from benchmarks.report import render_reports

    for kind, p in render_reports(Path(args.run_dir).resolve()).items():
        print(f"{kind}: {p}")
    return 0
