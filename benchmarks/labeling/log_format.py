"""The labeling-time log: one JSON file per labeling session, versioned by `schema_version`.

Documented for people in `labeling_logs/README.md`; this module is the one reader and writer. A log carries the
session (method, dataset, annotator, UTC start/end), what was labeled (counts and per-event rows), and the active
time with the rule that produced it, so a figure can always be traced back to its method.
"""

from __future__ import annotations

import json
import math
from dataclasses import MISSING, asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.registry import methods

SCHEMA_VERSION = 1
# How the active time was obtained; `rough` sources are wall-clock spans, not activity, and are never mixed with
# measured ones by `labeling_cost` unless asked.
SOURCES = ("watcher", "stopwatch", "cvat_working_time", "cvat_client_events", "cvat_export_timestamps")
ROUGH_SOURCES = ("cvat_export_timestamps",)
STATE_FILE = ".session_state.json"  # the stopwatch's state between `session start` and `session stop`


class LogFormatError(Exception):
    """A log that cannot be read: the message names the file, the key and what to do."""

    user_error = True


def utc_now() -> datetime:
    return datetime.now(UTC)


def to_utc_text(t: datetime) -> str:
    """ISO 8601 with an explicit `Z`, millisecond resolution (CVAT's own resolution)."""
    return t.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_utc(text: str) -> tuple[datetime, bool]:
    """Parse an ISO timestamp (or epoch seconds); returns (aware UTC datetime, had_zone). No zone means UTC."""
    text = str(text).strip()
    try:
        return datetime.fromtimestamp(float(text), tz=UTC), True
    except ValueError:
        pass
    t = datetime.fromisoformat(text.replace(" UTC", "Z"))  # raises ValueError with the text in the message
    if t.tzinfo is None:
        return t.replace(tzinfo=UTC), False
    return t.astimezone(UTC), True


@dataclass
class Event:
    """One row: an image got a label (folder sort), lost one, was re-sorted, or a box / frame record (CVAT)."""

    kind: str  # "arrive" | "resort" | "remove" | "box" | "frame_time"
    image: str
    label: str | None = None
    t_utc: str | None = None  # None where the method has no per-event time (stopwatch, boxes from an export)
    from_label: str | None = None  # for "resort"
    box: list[float] | None = None  # [x1, y1, x2, y2] in pixels, for "box"
    active_s: float | None = None  # for "frame_time"


@dataclass
class LabelingLog:
    method: str
    dataset: str
    annotator: str
    started_utc: str
    ended_utc: str
    source: str
    active_s: float
    n_images: int
    n_labels: int
    n_boxes: int = 0
    example: bool = False  # example logs are never used as measurements (see labeling_cost)
    notes: str = ""
    pause_threshold_s: float | None = None
    paused_s: float = 0.0
    pauses: list[dict] = field(default_factory=list)  # {"start_utc", "end_utc", "gap_s"}
    counts: dict = field(default_factory=dict)  # method-specific: resorts, ignored files, other shapes, ...
    breakdown: dict = field(default_factory=dict)  # CVAT: per job / task / user / frame seconds
    events: list[Event] = field(default_factory=list)
    schema_version: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        if self.method not in methods.METHODS:
            raise LogFormatError(f"method {self.method!r} is not one of {tuple(methods.METHODS)}")
        if self.source not in SOURCES:
            raise LogFormatError(f"source {self.source!r} is not one of {SOURCES}")
        # a hand-edited or damaged log must not turn into negative, NaN or text "seconds" in a cost
        for key in ("active_s", "paused_s"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise LogFormatError(f"`{key}` = {value!r}: must be a finite number of seconds >= 0")
        for key in ("n_images", "n_labels", "n_boxes"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise LogFormatError(f"`{key}` = {value!r}: must be a whole number >= 0")

    @property
    def rough(self) -> bool:
        return self.source in ROUGH_SOURCES

    def to_dict(self) -> dict:
        d = asdict(self)
        d["rough"] = self.rough
        d["events"] = [{k: v for k, v in e.items() if v is not None} for e in d["events"]]  # unused fields omitted
        # schema_version first, so `head` on a log tells its version
        return {"schema_version": d.pop("schema_version"), **d}


def write_log(log: LabelingLog, log_dir: Path, stem: str | None = None) -> Path:
    """Write `<log_dir>/<method>_<dataset>_<start>.json`; never overwrites (a suffix is added)."""
    log_dir = Path(log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in log.dataset) or "dataset"
    stamp = log.started_utc.replace(":", "").replace("-", "")[:15]
    stem = stem or f"{log.method}_{safe}_{stamp}"
    path = log_dir / f"{stem}.json"
    n = 1
    while path.exists():
        n += 1
        path = log_dir / f"{stem}_{n}.json"
    path.write_text(json.dumps(log.to_dict(), indent=1) + "\n", encoding="utf-8")
    return path


def _migrate(data: dict, path: Path) -> dict:
    """Bring an older log up to SCHEMA_VERSION. Version 1 is the first: nothing to migrate yet."""
    version = data.get("schema_version")
    if version == SCHEMA_VERSION:
        return data
    if not isinstance(version, int):
        raise LogFormatError(f"{path}: key 'schema_version' is {version!r}; a labeling log needs an integer version")
    raise LogFormatError(
        f"{path}: schema_version {version} is not supported (this clsdet reads version {SCHEMA_VERSION}); "
        f"{'upgrade clsdet' if version > SCHEMA_VERSION else 'convert the log'} or move it out of the log folder"
    )


def read_log(path: Path) -> LabelingLog:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise LogFormatError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from exc
    except UnicodeDecodeError:
        raise LogFormatError(
            f"{path}: not UTF-8 text; logs are UTF-8 JSON: save it as UTF-8, or move it out of the log folder"
        ) from None
    if not isinstance(data, dict):
        raise LogFormatError(f"{path}: a labeling log is a JSON object, got {type(data).__name__}")
    data = _migrate(data, path)
    known = {f.name for f in fields(LabelingLog)}
    data.pop("rough", None)  # derived from source
    unknown = sorted(set(data) - known)
    if unknown:
        raise LogFormatError(f"{path}: unknown key(s) {unknown}; schema {SCHEMA_VERSION} keys are {sorted(known)}")
    missing = sorted(
        f.name
        for f in fields(LabelingLog)
        if f.name not in data and f.default is MISSING and f.default_factory is MISSING
    )
    if missing:
        raise LogFormatError(f"{path}: missing key(s) {missing}; fix the log or move it out of the log folder")
    try:
        data["events"] = [Event(**e) for e in data.get("events", [])]
        return LabelingLog(**data)
    except TypeError as exc:  # an event row with unknown keys, or `events` not a list of objects
        raise LogFormatError(
            f"{path}: bad `events` row ({exc}); fix the log or move it out of the log folder"
        ) from None
    except LogFormatError as exc:
        raise LogFormatError(f"{path}: {exc}; fix the log or move it out of the log folder") from None


def find_logs(log_dir: Path) -> list[Path]:
    """Every `*.json` log in `log_dir` (not recursive; the stopwatch's dot-file state is skipped)."""
    log_dir = Path(log_dir)
    if not log_dir.is_dir():
        return []
    return sorted(p for p in log_dir.glob("*.json") if not p.name.startswith("."))
