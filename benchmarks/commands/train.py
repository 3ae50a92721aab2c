"""`clsdet train classifier|detector CONFIG`: data -> split -> one pipeline's training, in a run folder."""

from __future__ import annotations

from pathlib import Path

from benchmarks.commands.bench import _common, load_bench_config
from benchmarks.harness import DEFAULT_RUNS, run_bench
from benchmarks.harness.jobs import Job
from benchmarks.registry.pipelines import PIPELINES

KINDS = {"epochs": int, "imgsz": int, "batch": int, "workers": int, "lr": float}  # every other flag is a string


def register(sub) -> None:
    p = sub.add_parser("train", help="train one pipeline on the benchmark's split")
    tsub = p.add_subparsers(dest="pipeline", metavar="PIPELINE")
    tsub.required = True
    for model, p in PIPELINES.items():
        t = tsub.add_parser(model, help=f"train the {model}")
        _common(t)
        for flag in p.train_flags:
            if flag == "device":
                continue  # from _common (--device, training device first)
            t.add_argument(f"--{flag}", type=KINDS.get(flag, str), help=f"{model}.{flag} (default: the config's)")
        t.set_defaults(func=train_cmd)


def train_cmd(args) -> int:
    # --device is a list (training device first, then latency devices): run_bench applies it
    flags = [f for f in PIPELINES[args.pipeline].train_flags if f != "device" and getattr(args, f, None) is not None]
    extra = [f"{args.pipeline}.{f}={getattr(args, f)}" for f in flags]
    cfg = load_bench_config(args, extra)
    cfg.candidates = [c for c in cfg.candidates if c.pipeline == args.pipeline]
    cfg.curve.fractions, cfg.curve.seeds = [1.0], cfg.curve.seeds[:1]  # the headline training only
    run_dir = run_bench(
        cfg,
        Path(args.out) if args.out else DEFAULT_RUNS,
        resume=args.resume,
        devices=args.device,
        only=["data", "split", "train"],
    )

    print()
    for c in cfg.candidates:
        artifact = Job(c.name, c.pipeline, 1.0, cfg.curve.seeds[0], True).artifact(run_dir)
        print(f"{c.name} artifact: {artifact}")
    return 0
