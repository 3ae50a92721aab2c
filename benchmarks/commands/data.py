"""`clsdet data inspect TARGET`: per-class table, disagreements and problems; exit 1 on a fatal problem."""

from __future__ import annotations

import zipfile
from pathlib import Path

import yaml

from benchmarks import runtime
from benchmarks.cli import CliError
from benchmarks.data.archive import NOT_A_ZIP


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


KINDS = "a benchmark config (clsdet.yaml), a CVAT export (.zip, folder or .xml), a YOLO data.yaml or a folder tree"


def resolve_target(target: str, reader: str | None) -> Path:
    """The file `data inspect` reads, or a user error naming it and the fix (before any reader guesses at it)."""

    path = Path(target).expanduser()
    if not path.exists():
        raise CliError(f"{path} does not exist; pass {KINDS}")
    if path.is_dir() and reader is None and (path / "clsdet.yaml").is_file():
        print(f"reading the benchmark config {path / 'clsdet.yaml'} (pass --reader to read the folder as a dataset)")
        return path / "clsdet.yaml"
    if path.is_file() and path.suffix.lower() == ".zip" and not zipfile.is_zipfile(path):
        raise CliError(NOT_A_ZIP.format(path=path))
    if path.is_file() and path.suffix.lower() in (".yaml", ".yml"):
        try:
            empty = yaml.safe_load(path.read_bytes()) is None
        except yaml.YAMLError as exc:
            raise CliError(f"{path}: not valid YAML: {exc}") from None
        if empty:
            raise CliError(
                f"{path} is empty (nothing but comments or blank lines); a benchmark config needs `name`, `classes` "
                "and `sources` (`clsdet demo-data DIR` writes an example), a YOLO dataset YAML needs `names`"
            )
    return path


def inspect_cmd(args) -> int:
    # deferred: benchmarks.data.inspect imports numpy
    from benchmarks.data.inspect import run_inspect

    cache = runtime.state()["cache_dir"]
    target = resolve_target(args.target, args.reader)
    text, manifest = run_inspect(target, args.reader, args.images, args.all, cache_dir=f"{cache}/data")
    print(text)
    if args.save:
        print(f"manifest written to {manifest.save(args.save)}")
    return 1 if manifest.problems.fatal else 0
