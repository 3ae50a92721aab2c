"""`clsdet data inspect TARGET`: per-class table, disagreements and problems; exit 1 on a fatal problem."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("data", help="inspect the data a benchmark config (or a bare dataset) reads")
    dsub = p.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    dsub.required = True
    ins = dsub.add_parser("inspect", help="per-class table, disagreements between sources, every problem found")
    ins.add_argument("target", help="a benchmark config (clsdet.yaml) or a dataset: CVAT export, YOLO dataset, folders")
    ins.add_argument("--reader", help="reader for a bare dataset (default: detected from its files)")
    ins.add_argument("--images", help="image folder for a bare annotation export without images")
    ins.add_argument("--all", action="store_true", help="list every problem, not the first 30")
    ins.add_argument("--save", help="also write the manifest (JSON) here")
    ins.set_defaults(func=inspect_cmd)


def inspect_cmd(args) -> int:
    from benchmarks import runtime
    from benchmarks.data.inspect import run_inspect

    cache = runtime.state()["cache_dir"]
    text, manifest = run_inspect(args.target, args.reader, args.images, args.all, cache_dir=f"{cache}/data")
    print(text)
    if args.save:
        print(f"manifest written to {manifest.save(args.save)}")
    return 1 if manifest.problems.fatal else 0
