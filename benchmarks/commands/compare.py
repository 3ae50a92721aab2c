"""`clsdet compare RUN_DIR RUN_DIR...`: several runs side by side (machines, commits, configs, headline numbers),
from their results.json files alone (benchmarks/report/compare.py)."""

from __future__ import annotations

import sys
from pathlib import Path

from benchmarks.record import load_results


def register(sub) -> None:
    p = sub.add_parser(
        "compare",
        help="several runs side by side: machine, commit, config, headline accuracy, size, latency",
        description="One column per run x candidate (md), or one row each (csv, json); then the config keys whose "
        "values differ between the runs. Reads each run's results.json only.",
    )
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="run folders (or their results.json files)")
    p.add_argument("--format", choices=("md", "csv", "json"), default="md", help="default: md (a Markdown table)")
    p.set_defaults(func=compare_cmd)


def compare_cmd(args) -> int:
    # deferred: benchmarks.report.compare imports pandas
    from benchmarks.report.compare import compare_frame, config_differences, side_by_side

    runs = []
    for d in args.run_dirs:
        path = Path(d)
        runs.append(load_results(path.parent if path.suffix == ".json" else path))
    df = compare_frame(runs)
    if args.format == "csv":
        df.to_csv(sys.stdout, index=False)
        return 0
    if args.format == "json":
        print(df.to_json(orient="records", indent=1))
        return 0
    print(side_by_side(df).to_markdown(index=False) if not df.empty else "no headline results in these runs")
    diff = config_differences(runs)
    print()
    if diff.empty:
        print("configs: the same in every run (outside mlflow, profiles and file locations)")
    else:
        print(f"configs: {len(diff)} key(s) differ")
        print(diff.to_markdown(index=False))
    return 0
