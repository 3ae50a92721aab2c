"""`clsdet` entry point: wires sub-commands together and holds no logic of its own.

Each module in COMMANDS exposes `register(subparsers)`; it must import nothing heavy (torch, lightning,
ultralytics, mlflow) at module level, so `clsdet --help` and light commands start fast. Handlers import
what they need when they run.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as dist_version

from benchmarks import runtime

COMMANDS = [
    "benchmarks.commands.demo",  # clsdet demo-data
    "benchmarks.commands.data",  # clsdet data inspect
    "benchmarks.commands.train",  # clsdet train classifier|detector
    "benchmarks.commands.cvat",  # clsdet cvat pull
    "benchmarks.commands.label",  # clsdet label watch|session|import-cvat|summary
    "benchmarks.commands.bench",  # clsdet bench / latency / report
    "benchmarks.commands.evaluate",  # clsdet evaluate RUN_DIR (statistics from stored scores)
    "benchmarks.commands.compare",  # clsdet compare RUN_DIR RUN_DIR...
    "benchmarks.commands.log",  # clsdet log RUN_DIR [--tracking-uri URI] (log a finished run to MLflow)
    "benchmarks.commands.config",  # clsdet config --example / --reference
    "benchmarks.commands.predict",  # clsdet predict RUN_DIR IMAGES...
    "benchmarks.commands.app",  # clsdet app [RUN_DIR] (Streamlit)
    "benchmarks.commands.models",  # clsdet models
]


class CliError(Exception):
    """A user-facing error: printed without a traceback, exit code 2.

    Convention across packages (classifier/ and detector/ cannot import this one): any exception class with
    `user_error = True` is such an error; its message names the file/key/value and the fix."""

    user_error = True


def version() -> str:
    """The installed distribution's version (pyproject.toml's `version`), from its metadata: no import of the
    packages themselves, so `clsdet --version` starts fast."""
    try:
        return dist_version("clsdet-bench")
    except PackageNotFoundError:  # run from a source tree that was never pip-installed
        return "unknown (not installed: pip install -e .)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="clsdet",
        description="Multi-label classifier (folder sorting) vs YOLO detector (CVAT boxes): one benchmark.",
    )
    parser.add_argument("--version", action="version", version=f"clsdet {version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)

    try:
        runtime.setup(threads=getattr(args, "threads", None))
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        # 128 + the signal's number, as a shell reports a process the signal ended: 130 for Ctrl-C (SIGINT), 143
        # for SIGTERM (`timeout`, `docker stop`, SLURM); a stop signal's interruption may surface as a plain
        # KeyboardInterrupt (Lightning re-raises one), so the signal received decides
        if runtime.stop_requested():
            print("terminated (SIGTERM)", file=sys.stderr)
            return 143
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # user-facing errors carry their own message; anything else keeps its traceback
        if getattr(exc, "user_error", False):
            print(f"error: {exc}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
