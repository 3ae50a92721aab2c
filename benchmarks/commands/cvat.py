"""`clsdet cvat pull`: a CVAT task's, project's or job's annotations (CVAT for images 1.1, with images) and events
CSV, via cvat-sdk.

Credentials: $CVAT_ACCESS_TOKEN, or $CVAT_USER + $CVAT_PASSWORD, or ~/.netrc ($NETRC) for the URL's host; there is
deliberately no --password/--token flag, so a credential never lands in shell history or process lists.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.commands.args import count, positive_s
from benchmarks.cvat.client import DEFAULT_RETRIES, DEFAULT_TIMEOUT_S  # light: logging and re only
from benchmarks.cvat.pull import next_steps, pull


def register(sub) -> None:
    p = sub.add_parser("cvat", help="talk to a CVAT server: pull a task's, project's or job's export and events")
    csub = p.add_subparsers(dest="cvat_command", metavar="SUBCOMMAND")
    csub.required = True
    pl = csub.add_parser(
        "pull",
        help="download a task's, project's or job's CVAT for images 1.1 export (with images) and its events CSV",
        description="Credentials come from $CVAT_ACCESS_TOKEN, or $CVAT_USER + $CVAT_PASSWORD, or ~/.netrc "
        "(machine = the URL's host); the first one set is used.",
    )
    pl.add_argument("--url", required=True, help="the CVAT server, e.g. https://app.cvat.ai or http://localhost:8080")
    what = pl.add_mutually_exclusive_group(required=True)
    what.add_argument("--task-id", type=int, help="a task: the number in its page URL (/tasks/<id>)")
    what.add_argument("--project-id", type=int, help="a project, all its tasks: the number in /projects/<id>")
    what.add_argument("--job-id", type=int, help="one job of a task: the last number in /tasks/<task>/jobs/<id>")
    pl.add_argument(
        "--out",
        required=True,
        help="folder for <kind>_<N>_cvat_for_images.zip, events_<kind>_<N>.csv, pull.json (kind: task, project, job)",
    )
    pl.add_argument("--no-events", action="store_true", help="skip the analytics events export")
    pl.add_argument("--poll-s", type=positive_s, default=2.0, help="how often to ask whether an export is ready")
    pl.add_argument("--no-progress", action="store_true", help="no download progress bar")
    pl.add_argument(
        "--timeout-s", type=positive_s, default=DEFAULT_TIMEOUT_S, help="how long one request waits for the server"
    )
    pl.add_argument(
        "--retries", type=count, default=DEFAULT_RETRIES, help="more tries for a request that got no answer"
    )
    pl.set_defaults(func=pull_cmd)


def pull_cmd(args) -> int:
    out = Path(args.out)
    kind, obj_id = next(
        (k, getattr(args, f"{k}_id")) for k in ("task", "project", "job") if getattr(args, f"{k}_id") is not None
    )
    record = pull(
        args.url, obj_id, out, events=not args.no_events, poll_s=args.poll_s, progress=not args.no_progress,
        timeout_s=args.timeout_s, retries=args.retries, kind=kind,
    )  # fmt: skip
    print(next_steps(out, record))
    return 0
