"""CVAT analytics events export (`logs_<timestamp>.csv`) -> working time per job, task, user and frame.

The rule is CVAT's own (see timing.py for the citation): the server computes it from client events and stores the
result as `send:working_time` events (payload `{"working_time": ms}`, also in `duration`; cvat-ai/cvat
`cvat/apps/events/handlers.py: handle_client_events_push`). Where an export holds those for a job, the job's time is
taken from them (method `send:working_time`); otherwise it is recomputed from the client events
(method `client_events`). Per-frame time is always recomputed from client events: `change:frame` payloads carry
`from`/`to` frame numbers (cvat-core `logger.ts`, cvat-ui annotation actions), and each step of time is credited to
the frame shown before the event, as CVAT credits it to the job of the previous event.

Impossible times are not taken at face value (CVAT's server would count them; a measured rate must not rest on
them): a row dated before 2000 or more than a day after now (a zero or a millisecond epoch read as seconds, a
client clock off by years) is dropped; a negative duration or working time is taken as 0; a `change:frame` span
that runs more than the idle cut-off (100 s, CVAT's TIME_THRESHOLD, see timing.py) past the user's next event, or
past its own start when nothing follows, is clipped there, since 100 s without an event is a pause by the same rule;
a `send:working_time` value longer than the whole export's span is ignored and its job recomputed from the client
events. Each is counted in `problems` under a key naming the rule, and the seconds clipped are kept per job
(`clipped_s`), so a rate resting on them can say so.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.data.text import encoding_error
from benchmarks.labeling.log_format import parse_utc
from benchmarks.labeling.timing import THRESHOLD_MS, active_time

EXPECTED_COLUMNS = (
    "scope", "obj_name", "obj_id", "obj_val", "source", "timestamp", "count", "duration", "project_id", "task_id",
    "job_id", "user_id", "user_name", "user_email", "org_id", "org_slug", "payload",
)  # fmt: skip
REQUIRED_COLUMNS = ("scope", "source", "timestamp", "duration", "project_id", "task_id", "job_id", "user_id", "payload")
WORKING_TIME_SCOPE = "send:working_time"
COMPRESSED_SCOPES = frozenset({"change:frame"})  # CVAT's COMPRESSED_EVENT_SCOPES: events with a span
# Scopes a client may send (cvat/apps/events/serializers.py: ClientEventsSerializer.ALLOWED_SCOPES), plus the newer
# `user:activity` (cvat/apps/events/const.py: USER_ACTIVITY_SCOPE). Used for warnings (a scope outside it is counted
# as `unknown_scope:<scope>`) and to place rows without a `source`; every `source=client` row counts on the clock.
CLIENT_SCOPES = frozenset(
    [
        "load:cvat",
        "load:job",
        "save:job",
        "restore:job",
        "upload:annotations",
        "send:exception",
        "send:task_info",
        "draw:object",
        "paste:object",
        "copy:object",
        "propagate:object",
        "drag:object",
        "resize:object",
        "delete:object",
        "lock:object",
        "merge:objects",
        "split:objects",
        "group:objects",
        "slice:object",
        "join:objects",
        "change:attribute",
        "change:label",
        "change:frame",
        "zoom:image",
        "fit:image",
        "rotate:image",
        "action:undo",
        "action:redo",
        "debug:info",
        "run:annotations_action",
        "click:element",
        "user:activity",
    ]
)
# Server scopes are `<action>:<resource>` (cvat/apps/events/event.py: event_scope); known, but no part of the clock.
_SERVER_SCOPE = re.compile(r"^(create|update|delete|import|export|call|send):[a-z_]+$")


_EPOCH, _MS = datetime(1970, 1, 1, tzinfo=UTC), timedelta(milliseconds=1)
# Plausible event times: CVAT was first released in 2018, so a time before 2000 is a zero, a reset clock or a
# misread epoch; a day of slack after now allows for a clock set in the wrong time zone.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=1)
PROBLEM_TOO_EARLY = "timestamp_before_2000_dropped"
PROBLEM_FUTURE = "timestamp_more_than_1_day_in_the_future_dropped"
PROBLEM_NEGATIVE = "negative_duration_taken_as_0"
PROBLEM_SPAN = "change_frame_span_past_idle_cutoff_clipped"
PROBLEM_WORKING_TIME = "working_time_longer_than_the_export_ignored"


class CvatEventsError(Exception):
    user_error = True


@dataclass
class CvatEvent:
    line: int
    scope: str
    source: str
    t_ms: int
    duration_ms: int
    job_id: str | None
    task_id: str | None
    project_id: str | None
    user: str
    payload: dict


@dataclass
class CvatTime:
    jobs: dict = field(default_factory=dict)  # job_id -> {task_id, active_s, method, client_events_s, ...}
    tasks: dict = field(default_factory=dict)  # task_id -> active_s
    users: dict = field(default_factory=dict)  # user -> active_s
    frames: list = field(default_factory=list)  # {job_id, frame, user, active_s}
    outside_jobs_s: float = 0.0  # client time with no job (task pages, dashboards): not annotation
    paused_s: float = 0.0
    problems: dict = field(default_factory=dict)
    clipped_s: float = 0.0  # seconds cut from implausible change:frame spans, over every job (see jobs[j]["clipped_s"])
    first_ms: int | None = None
    last_ms: int | None = None

    @property
    def active_s(self) -> float:
        return round(sum(j["active_s"] for j in self.jobs.values()), 3)

    @property
    def methods(self) -> dict:
        return dict(Counter(j["method"] for j in self.jobs.values()))


def _id(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def read_events(path: Path, problems: Counter | None = None) -> list[CvatEvent]:
    """Every row, in file order; unknown scopes (kept), zone-less times and bad rows counted in `problems`."""
    path, problems = Path(path), problems if problems is not None else Counter()
    if not path.is_file():
        raise CvatEventsError(
            f"events file {path} does not exist; export it from CVAT (Analytics > Export events, logs_<timestamp>.csv)"
            " or run `clsdet cvat pull`, and pass its path"
        )
    try:
        return _read_rows(path, problems)
    except UnicodeDecodeError as exc:
        with open(path, "rb") as fh:
            raise encoding_error(str(path), fh.read(4), exc) from None


def _duration_ms(text, problems: Counter) -> int:
    """A row's duration in whole ms; unreadable (text, NaN, inf) counted as bad, negative counted and taken as 0."""
    try:
        duration = int(float(text or 0))
    except (ValueError, OverflowError):  # int(float("inf")) is an OverflowError
        problems["bad_duration"] += 1
        return 0
    if duration < 0:
        problems[PROBLEM_NEGATIVE] += 1
        return 0
    return duration


def _read_rows(path: Path, problems: Counter) -> list[CvatEvent]:
    latest = datetime.now(UTC) + FUTURE_SLACK
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise CvatEventsError(
                f"{path}: missing column(s) {missing}; a CVAT events export (Analytics > Export events, "
                f"logs_<timestamp>.csv) has the columns {', '.join(EXPECTED_COLUMNS)}"
            )
        events = []
        for row in reader:
            line = reader.line_num
            scope = (row["scope"] or "").strip()
            if scope not in CLIENT_SCOPES and not _SERVER_SCOPE.match(scope):
                # a warning only: CVAT stores only client events its server accepted, so a client row of a scope
                # newer than this list still counted on CVAT's clock, and must count on ours
                problems[f"unknown_scope:{scope}"] += 1
            try:
                t, had_zone = parse_utc(row["timestamp"])
            except ValueError:
                problems["bad_timestamp"] += 1
                continue
            if t < EARLIEST or t > latest:
                problems[PROBLEM_TOO_EARLY if t < EARLIEST else PROBLEM_FUTURE] += 1
                continue
            if not had_zone:
                problems["timestamp_without_zone_taken_as_utc"] += 1
            duration = _duration_ms(row["duration"], problems)
            try:
                payload = json.loads(row["payload"]) if (row["payload"] or "").strip() else {}
            except json.JSONDecodeError:
                problems["bad_payload_json"] += 1
                payload = {}
            user = _id(row.get("user_id")) or _id(row.get("user_name")) or "unknown"
            events.append(
                CvatEvent(
                    line, scope, (row["source"] or "").strip(), (t - _EPOCH) // _MS,
                    duration, _id(row["job_id"]), _id(row["task_id"]), _id(row["project_id"]), user,
                    payload if isinstance(payload, dict) else {},
                )
            )  # fmt: skip
    return events


def _is_client(e: CvatEvent) -> bool:
    return e.source == "client" or (not e.source and e.scope in CLIENT_SCOPES)


def _frame_of(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _clip_spans(stream: list[CvatEvent], threshold_ms: int, problems: Counter) -> tuple[list[int], list[int]]:
    """(span, clipped) in ms per event of one user's time-ordered stream: a change:frame span ends at most the idle
    cut-off after the user's next event (after its own start when nothing follows): past that, by CVAT's gap rule,
    the person had paused, so the rest of the span is not work however the client measured it."""
    spans, clipped = [], []
    for i, e in enumerate(stream):
        span = e.duration_ms if e.scope in COMPRESSED_SCOPES else 0
        limit = (stream[i + 1].t_ms if i + 1 < len(stream) else e.t_ms) + threshold_ms - e.t_ms
        cut = max(span - limit, 0)
        if cut:
            problems[PROBLEM_SPAN] += 1
        spans.append(span - cut)
        clipped.append(cut)
    return spans, clipped


def _server_ms(e: CvatEvent, problems: Counter) -> int:
    value = e.payload.get("working_time", e.duration_ms)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        problems["bad_duration"] += 1
        return 0
    return _duration_ms(value, problems)


def working_time(
    events: list[CvatEvent], threshold_ms: int = THRESHOLD_MS, problems: Counter | None = None
) -> CvatTime:
    problems = problems if problems is not None else Counter()
    out_of_order = sum(1 for a, b in zip(events, events[1:]) if b.t_ms < a.t_ms)
    if out_of_order:
        problems["events_out_of_order_sorted"] += out_of_order
    ordered = sorted(events, key=lambda e: e.t_ms)  # stable: equal times keep file order
    client_ms: dict[tuple, int] = defaultdict(int)  # (user, job) -> ms
    job_task: dict[str, str | None] = {}
    frame_ms: dict[tuple, int] = defaultdict(int)  # (job, frame, user) -> ms
    clipped_ms: dict[str | None, int] = defaultdict(int)  # job -> ms cut from spans credited to it
    outside_ms = paused_ms = 0
    by_user: dict[str, list[CvatEvent]] = defaultdict(list)
    for e in ordered:
        if e.job_id is not None:
            job_task.setdefault(e.job_id, e.task_id)
        if _is_client(e):
            by_user[e.user].append(e)
    for user, stream in by_user.items():
        spans, cuts = _clip_spans(stream, threshold_ms, problems)
        at = active_time([e.t_ms for e in stream], spans, threshold_ms)
        paused_ms += at.paused_ms
        frame, unknown_ms = None, 0  # unknown_ms: time in this job before its first change:frame
        for i, (e, step) in enumerate(zip(stream, at.steps)):
            prev = stream[i - 1] if i else e  # CVAT credits the step to the previous event's ids
            clipped_ms[prev.job_id] += cuts[i]
            if e.scope == "change:frame" and frame is None and e.job_id == prev.job_id:
                frame = _frame_of(e.payload.get("from"))  # the frame shown since the job opened
                if frame is not None and unknown_ms:
                    frame_ms[(prev.job_id, None, user)] -= unknown_ms
                    frame_ms[(prev.job_id, frame, user)] += unknown_ms
            if prev.job_id is None:
                outside_ms += step.active_ms
            else:
                client_ms[(user, prev.job_id)] += step.active_ms
                frame_ms[(prev.job_id, frame, user)] += step.active_ms
                unknown_ms = unknown_ms + step.active_ms if frame is None else 0
            if e.scope == "change:frame":
                frame = _frame_of(e.payload.get("to"))
            elif e.scope == "load:job" or (i and e.job_id != prev.job_id):
                frame, unknown_ms = None, 0  # another job: its frame is unknown until its first change:frame
    server_ms: dict[tuple, int] = defaultdict(int)
    # no batch of work can be longer than the whole export (plus one idle cut-off for the last event's span)
    longest_ms = (ordered[-1].t_ms - ordered[0].t_ms + threshold_ms) if ordered else 0
    implausible: set[str] = set()
    for e in ordered:
        if e.scope == WORKING_TIME_SCOPE and e.job_id is not None:
            value = _server_ms(e, problems)
            if value > longest_ms:
                problems[PROBLEM_WORKING_TIME] += 1
                implausible.add(e.job_id)
            server_ms[(e.user, e.job_id)] += value
    server_ms = defaultdict(int, {k: v for k, v in server_ms.items() if k[1] not in implausible})
    result = CvatTime(outside_jobs_s=outside_ms / 1000, paused_s=paused_ms / 1000)
    jobs_with_server = {job for _, job in server_ms}
    users: dict[str, int] = defaultdict(int)
    tasks: dict[str, int] = defaultdict(int)
    for job in sorted({j for _, j in client_ms} | jobs_with_server, key=lambda j: (len(j), j)):
        source = server_ms if job in jobs_with_server else client_ms
        per_user = {u: ms for (u, j), ms in source.items() if j == job}
        total = sum(per_user.values())
        for u, ms in per_user.items():
            users[u] += ms
        tasks[job_task.get(job) or "unknown"] += total
        result.jobs[job] = {
            "task_id": job_task.get(job),
            "active_s": total / 1000,
            "method": WORKING_TIME_SCOPE if job in jobs_with_server else "client_events",
            "client_events_s": sum(ms for (u, j), ms in client_ms.items() if j == job) / 1000,
            "working_time_events_s": (
                sum(ms for (u, j), ms in server_ms.items() if j == job) / 1000 if job in jobs_with_server else None
            ),
            "users": {u: ms / 1000 for u, ms in sorted(per_user.items())},
            # seconds cut from this job's client-event spans; they lower its time only where it is recomputed
            "clipped_s": clipped_ms.get(job, 0) / 1000 if job not in jobs_with_server else 0.0,
        }
    result.tasks = {t: ms / 1000 for t, ms in sorted(tasks.items())}
    result.users = {u: ms / 1000 for u, ms in sorted(users.items())}
    result.frames = [
        {"job_id": j, "frame": f, "user": u, "active_s": ms / 1000}
        for (j, f, u), ms in sorted(frame_ms.items(), key=lambda kv: (kv[0][0], kv[0][1] is None, kv[0][1] or 0))
        if ms
    ]
    if ordered:
        result.first_ms, result.last_ms = ordered[0].t_ms, ordered[-1].t_ms
    result.clipped_s = round(sum(j["clipped_s"] for j in result.jobs.values()), 3)
    result.problems = dict(sorted(problems.items()))
    return result


def read_working_time(path: Path, threshold_ms: int = THRESHOLD_MS) -> CvatTime:
    problems: Counter = Counter()
    events = read_events(path, problems)
    if not events:
        raise CvatEventsError(f"{path}: no events; is this a CVAT events export (logs_*.csv)?")
    return working_time(events, threshold_ms, problems)


def keep_jobs(wt: CvatTime, keep: set[str]) -> dict[str, float]:
    """Restrict `wt` to the jobs in `keep` (those an annotation export covers); returns {job: active_s} left out.

    Computed after the clock ran over every event, so a step at a switch between jobs stays with the job CVAT
    credits it to; only the per-job results are dropped, and tasks/users/frames are summed again from those kept."""
    left_out = {j: v["active_s"] for j, v in wt.jobs.items() if j not in keep}
    wt.jobs = {j: v for j, v in wt.jobs.items() if j in keep}
    tasks: dict[str, float] = defaultdict(float)
    users: dict[str, float] = defaultdict(float)
    for j in wt.jobs.values():
        tasks[j["task_id"] or "unknown"] += j["active_s"]
        for u, s in j["users"].items():
            users[u] += s
    wt.tasks = {t: round(s, 3) for t, s in sorted(tasks.items())}
    wt.users = {u: round(s, 3) for u, s in sorted(users.items())}
    wt.frames = [f for f in wt.frames if f["job_id"] in keep]
    wt.clipped_s = round(sum(j["clipped_s"] for j in wt.jobs.values()), 3)
    return left_out
