"""`clsdet cvat pull`: a CVAT task's annotations (CVAT for images 1.1, with images) and events CSV, via cvat-sdk.

Credentials: $CVAT_ACCESS_TOKEN, or $CVAT_USER + $CVAT_PASSWORD, or ~/.netrc ($NETRC) for the URL's host; there is
deliberately no --password/--token flag, so a credential never lands in shell history or process lists.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.commands.args import count, positive_s
from benchmarks.cvat_http import DEFAULT_RETRIES, DEFAULT_TIMEOUT_S  # light: logging and re only


def register(sub) -> None:
    p = sub.add_parser("cvat", help="talk to a CVAT server: pull a task's export and events")
    csub = p.add_subparsers(dest="cvat_command", metavar="SUBCOMMAND")
    csub.required = True
    pl = csub.add_parser(
        "pull",
        help="download a task's CVAT for images 1.1 export (with images) and its analytics events CSV",
        description="Credentials come from $CVAT_ACCESS_TOKEN, or $CVAT_USER + $CVAT_PASSWORD, or ~/.netrc "
        "(machine = the URL's host); the first one set is used.",
    )
    pl.add_argument("--url", required=True, help="the CVAT server, e.g. https://app.cvat.ai or http://localhost:8080")
    pl.add_argument("--task-id", type=int, required=True, help="the number in the task's page URL (/tasks/<id>)")
    pl.add_argument(
        "--out", required=True, help="folder for task_<N>_cvat_for_images.zip, events_task_<N>.csv, pull.json"
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
    from benchmarks.cvat_pull import next_steps, pull

    out = Path(args.out)
    record = pull(
        args.url, args.task_id, out, events=not args.no_events, poll_s=args.poll_s, progress=not args.no_progress,
        timeout_s=args.timeout_s, retries=args.retries,
    )  # fmt: skip
    print(next_steps(out, record))
    return 0
