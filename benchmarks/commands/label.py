"""`clsdet label watch|session|import-cvat|summary`: labeling-time logs (see labeling_logs/README.md)."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path

from benchmarks.cli import CliError
from benchmarks.commands.args import positive_s
from benchmarks.labeling.cost import load_logs, totals
from benchmarks.labeling.cvat_import import import_cvat
from benchmarks.labeling.cvat_jobs import job_rows, write_job_table
from benchmarks.labeling.log_format import write_log
from benchmarks.labeling.rates import LabelingRates
from benchmarks.labeling.stopwatch import start_session, stop_session
from benchmarks.labeling.summary import event_text, session_text, summary_rows, summary_text
from benchmarks.labeling.watcher import FolderSortWatcher

# the project's own logs folder (labeling_logs/README.md), also the bench's default `labeling.log_dir`
DEFAULT_LOG_DIR = str(Path(__file__).resolve().parents[2] / "labeling_logs")


def _common(p, log_dir: bool = True) -> None:
    if log_dir:
        p.add_argument("--log-dir", default=DEFAULT_LOG_DIR, help=f"where logs go (default: {DEFAULT_LOG_DIR}/)")
    p.add_argument("--annotator", default="", help="the person's name, as given (stored as is)")
    p.add_argument("--dataset", default="", help="dataset name the harness matches logs by (default: folder name)")
    p.add_argument("--notes", default="", help="free text stored in the log")
    p.add_argument("--example", action="store_true", help="mark the log as an example: never used as a measurement")


def register(sub) -> None:
    p = sub.add_parser("label", help="labeling-time logs: folder-sort watcher, stopwatch, CVAT import, summary")
    lsub = p.add_subparsers(dest="label_command", metavar="SUBCOMMAND")
    lsub.required = True

    w = lsub.add_parser("watch", help="log images as you sort them into label folders; Ctrl-C ends the session")
    w.add_argument("sorted_dir", help="the tree: SORTED_DIR/<label>/<image>")
    w.add_argument("--classes", nargs="+", help="label folders to watch (created if missing); others are ignored")
    w.add_argument("--pause-threshold-s", type=positive_s, default=100.0, help="gaps this long or longer are pauses")
    w.add_argument("--polling", action="store_true", help="use watchdog's polling observer (network drives)")
    w.add_argument("--poll-interval-s", type=positive_s, default=1.0)
    _common(w)
    w.set_defaults(func=watch_cmd)

    s = lsub.add_parser("session", help="manual stopwatch: `start` before sorting, `stop` after")
    s.add_argument("action", choices=("start", "stop"))
    s.add_argument("sorted_dir", help="the tree: SORTED_DIR/<label>/<image>")
    s.add_argument("--classes", nargs="+", help="label folders to count (default: every folder)")
    _common(s)
    s.set_defaults(func=session_cmd)

    c = lsub.add_parser("import-cvat", help="CVAT analytics events CSV (+ annotation export) -> a cvat log")
    c.add_argument("events_csv", nargs="?", help="CVAT's events export, logs_<timestamp>.csv")
    c.add_argument("--annotations", help="CVAT for images 1.1 export (zip, folder or annotations.xml): box counts")
    c.add_argument("--threshold-s", type=positive_s, default=100.0, help="CVAT's gap rule (default 100 s)")
    c.add_argument(
        "--csv",
        metavar="OUT.csv",
        help="also write annotation hours per job and annotator: hours, objects saved (created - deleted), objects "
        "per hour (needs the events CSV)",
    )
    _common(c)
    c.set_defaults(func=import_cvat_cmd)

    m = lsub.add_parser("summary", help="per method: images, labels, boxes, active s, s per image/label/box")
    m.add_argument("--log-dir", default=DEFAULT_LOG_DIR)
    m.add_argument("--dataset", help="only logs of this dataset")
    m.add_argument(
        "--include-examples",
        action="store_true",
        help="count the example logs (labeling_logs/example_*, marked example) as measured; left out by default",
    )
    m.add_argument("--no-examples", action="store_true", help=argparse.SUPPRESS)  # the default now; kept for scripts
    m.add_argument("--rough", action="store_true", help="include rough logs (CVAT export timestamps)")
    m.add_argument("--folder-sort-s-per-image", type=positive_s, help="modeled rate when there is no folder-sort log")
    m.add_argument("--box-protocol", default="draw", help="modeled box rate: draw (10 s, the default), "
                   "extreme_clicking (7 s) or draw_and_verify (35 s)")  # fmt: skip
    m.add_argument("--json", action="store_true", help="print the rows as JSON")
    m.set_defaults(func=summary_cmd)


def watch_cmd(args) -> int:
    watcher = FolderSortWatcher(
        args.sorted_dir, args.classes, args.pause_threshold_s, args.annotator, args.dataset,
        polling=args.polling, poll_interval_s=args.poll_interval_s, notes=args.notes, example=args.example,
        on_event=lambda event, images, labels: print(event_text(event, images, labels), flush=True),
    )  # fmt: skip
    try:
        watcher.start()
    except FileNotFoundError as exc:
        raise CliError(str(exc)) from None
    print(
        f"watching {watcher.root} ({watcher.observer_kind}); sort your images (each is listed as it is recorded, "
        "times in UTC), press Ctrl-C when done",
        flush=True,
    )

    def _end(signum, frame):  # `kill` (SIGTERM) ends the session like Ctrl-C: the log is still written
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _end)
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:  # started in the background by a non-interactive shell
        signal.signal(signal.SIGINT, _end)
    try:
        while True:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    log = watcher.stop()
    path = write_log(log, args.log_dir)
    print(session_text(log, path))
    return 0


def session_cmd(args) -> int:
    if args.action == "start":
        n = start_session(args.sorted_dir, args.log_dir, args.classes, args.annotator, args.dataset, args.example)
        print(
            f"session started: {n['images']} images, {n['labels']} labels already sorted"
            + (f", {n['ignored_files']} other files ignored" if n["ignored_files"] else "")
            + f"; run `clsdet label session stop {args.sorted_dir}` when done"
        )
        return 0
    log = stop_session(args.sorted_dir, args.log_dir, args.notes, args.annotator, args.dataset, args.example)
    path = write_log(log, args.log_dir)
    print(session_text(log, path))
    return 0


def import_cvat_cmd(args) -> int:
    if not args.events_csv and not args.annotations:
        raise CliError("give an events CSV (logs_*.csv), --annotations EXPORT, or both")
    if args.csv and not args.events_csv:
        raise CliError("--csv needs the events CSV (logs_*.csv): hours per job come from CVAT's events")
    log = import_cvat(
        args.events_csv, args.annotations, args.dataset, args.annotator, args.notes, args.threshold_s, args.example
    )
    path = write_log(log, args.log_dir)
    print(session_text(log, path))
    if args.csv:
        rows = job_rows(log.breakdown or {}, Path(args.events_csv))
        print(f"  per job and annotator: {write_job_table(rows, Path(args.csv))} ({len(rows)} row(s))")
    if log.rough:
        print("  note: ROUGH figure (export timestamps), left out of the summary and the harness unless asked")
    return 0


def summary_cmd(args) -> int:

    rates = LabelingRates(box_protocol=args.box_protocol)
    if args.folder_sort_s_per_image is not None:
        rates.folder_sort_s_per_image = args.folder_sort_s_per_image
        rates.folder_sort_citation = f"modeled: {args.folder_sort_s_per_image:g} s per image (configured)"
    if not Path(args.log_dir).is_dir():  # a mistyped folder would otherwise show modeled rates as if no log existed
        raise CliError(f"log folder {args.log_dir} does not exist; pass --log-dir with the folder your logs are in")
    logs = load_logs(args.log_dir, args.dataset, include_examples=args.include_examples, include_rough=args.rough)
    rows = summary_rows(totals(logs), rates)
    print(json.dumps(rows, indent=1) if args.json else summary_text(rows))
    left_out = len(load_logs(args.log_dir, args.dataset, include_examples=True, include_rough=args.rough)) - len(logs)
    if left_out:  # said, not silently dropped; on stderr so that --json stays parseable
        print(f"{left_out} example log(s) left out (not measurements); --include-examples counts them", file=sys.stderr)
    return 0
