"""`clsdet app [RUN_DIR]`: the Streamlit app (benchmarks/app/main.py) on a finished run.

Streamlit listens on every interface by default; here it is 127.0.0.1 unless --host says otherwise, uploads are
capped (benchmarks.app.core.MAX_UPLOAD_MB) and usage statistics are off. Unknown options pass through to
`streamlit run`, in either of Streamlit's forms (--theme.base=dark or --theme.base dark).
"""

from __future__ import annotations

import importlib.util
import signal
import subprocess
import sys
from pathlib import Path

from benchmarks.harness import DEFAULT_RUNS

APP = Path(__file__).resolve().parents[1] / "app" / "main.py"


def register(sub) -> None:
    p = sub.add_parser(
        "app",
        help="look at a run's two models in the browser (Streamlit)",
        description="Starts the Streamlit app on a finished run; unknown --options pass through to streamlit run.",
    )
    p.add_argument("run_dir", nargs="?", help="a run folder (default: the newest under results/runs/)")
    p.add_argument("--port", type=int, default=8501, help="default: 8501")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)")
    p.add_argument("--runs", help="where to look for the newest run (default: results/runs)")
    p.set_defaults(func=app_cmd, extra=[])
    _pass_through_unknown(p)


def _pass_through_unknown(parser) -> None:
    """Unknown --options of `clsdet app` go to streamlit instead of failing the parse: argparse hands a sub-command
    its arguments through parser.parse_known_args and rejects what comes back unparsed, so this parser keeps the
    rest as `extra` and returns nothing unparsed."""
    parse = parser.parse_known_args

    def parse_known_args(args=None, namespace=None):
        ns, rest = parse(None if args is None else join_option_values(list(args)), namespace)
        ns.extra = list(getattr(ns, "extra", []) or []) + rest
        return ns, []

    parser.parse_known_args = parse_known_args


def join_option_values(args: list[str]) -> list[str]:
    """Streamlit's own options in both of its spellings: `--server.headless true` becomes `--server.headless=true`.
    Every Streamlit config option is `section.name` and takes a value (`streamlit run --help`), so a dotted option
    followed by a word that is not an option is that option's value, never the run folder."""
    out: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        dotted = a.startswith("--") and "." in a.split("=", 1)[0] and "=" not in a
        if dotted and i + 1 < len(args) and not args[i + 1].startswith("-"):
            out.append(f"{a}={args[i + 1]}")
            i += 2
            continue
        out.append(a)
        i += 1
    return out


def streamlit_command(run_dir: Path, port: int, host: str, extra: list[str]) -> list[str]:
    # deferred: benchmarks.app.core imports numpy
    from benchmarks.app.core import MAX_UPLOAD_MB

    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        f"--server.address={host}",
        f"--server.port={port}",
        f"--server.maxUploadSize={MAX_UPLOAD_MB}",
        "--server.headless=true",
        "--browser.gatherUsageStats=false",
        # the app only reads the repository; a file watcher would poll it for nothing
        "--server.fileWatcherType=none",
        *extra,
        "--",
        str(run_dir),
    ]


APP_EXTRA_HINT = "pip install 'clsdet-bench[app]' (or pip install -e '.[app]' in a clone)"


def app_cmd(args) -> int:
    # deferred: benchmarks.app.core imports numpy
    from benchmarks.app.core import AppError, load_run, newest_run

    missing = [m for m in ("streamlit", "captum") if importlib.util.find_spec(m) is None]
    if missing:  # an optional extra: the benchmark itself needs neither
        raise AppError(f"clsdet app needs {' and '.join(missing)}, not installed here: {APP_EXTRA_HINT}")

    if args.run_dir:
        run_dir = Path(args.run_dir).resolve()
    else:
        run_dir = newest_run(Path(args.runs) if args.runs else DEFAULT_RUNS)
    load_run(run_dir)  # a missing or broken results.json fails here, with its reason, not inside the browser
    extra = list(getattr(args, "extra", []) or [])
    bad = [x for x in extra if not x.startswith("--")]
    if bad:
        raise AppError(f"unexpected argument(s) {bad}: `clsdet app [RUN_DIR] [--port N] [--host H] [--server.X=V]`")
    shown = "localhost" if args.host in ("127.0.0.1", "localhost") else args.host
    print(f"run: {run_dir}")
    print(f"open http://{shown}:{args.port} in a browser (Ctrl-C stops the app)", flush=True)
    return _run_child(streamlit_command(run_dir, args.port, args.host, extra))


def _run_child(cmd: list[str]) -> int:
    """Run streamlit and never leave it behind: Ctrl-C and SIGTERM to `clsdet app` stop the server too."""

    def _terminate(signum, frame):
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, _terminate)
    proc = subprocess.Popen(cmd)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        return 130
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        signal.signal(signal.SIGTERM, previous)
