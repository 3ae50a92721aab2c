"""`clsdet evaluate RUN_DIR`: recompute every statistic and the verdict from the run's stored test scores."""

from __future__ import annotations

from pathlib import Path

from benchmarks.runtime import check_writable


def register(sub) -> None:
    p = sub.add_parser(
        "evaluate",
        help="recompute accuracy, the tests, the verdict and the report from a run's stored test scores (no training)",
    )
    p.add_argument("run_dir", help="a run folder (results/runs/<run-id>)")
    p.add_argument("--bootstrap", type=int, help="bootstrap resamples (default: the run's metrics.bootstrap)")
    p.add_argument("--permutations", type=int, help="permutations of the baseline test (default: the run's)")
    p.add_argument("--self-check", type=int, help="simulations of the 'How sure' section; 0 skips it")
    p.set_defaults(func=evaluate_cmd)


def evaluate_cmd(args) -> int:
    # deferred: benchmarks.harness.reevaluate imports numpy
    from benchmarks.harness.reevaluate import reevaluate

    run_dir = check_writable(Path(args.run_dir).resolve(), "the run folder", "copy it somewhere writable first")
    sets = [f"metrics.{k}={v}" for k, v in (("bootstrap", args.bootstrap), ("permutations", args.permutations),
                                           ("self_check", args.self_check)) if v is not None]  # fmt: skip
    v = reevaluate(run_dir, sets)
    print(v.get("text", ""))
    return 0
