"""Manual stopwatch: `label session start` snapshots the sorted tree, `label session stop` diffs it and logs.

For people who sort somewhere the watcher cannot see (another machine, a phone), or who prefer it. It has no
per-event times, so it cannot detect pauses: its active time is the wall-clock span between the two calls (the
person decides what a session is, as with a stopwatch), and the log's notes say so.
The state between the two calls is a small JSON file in the log folder, keyed by the sorted folder's path.
"""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.labeling.log_format import STATE_FILE, Event, LabelingLog, parse_utc, to_utc_text, utc_now
from benchmarks.labeling.tree import scan_tree


class SessionError(Exception):
    user_error = True


def _state_path(log_dir: Path) -> Path:
    return Path(log_dir) / STATE_FILE


def _load(log_dir: Path) -> dict:
    path = _state_path(log_dir)
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise SessionError(f"{path}: corrupt session state ({exc.msg}); delete it and start the session again") from exc


def start_session(
    sorted_dir: Path,
    log_dir: Path,
    classes: list[str] | None = None,
    annotator: str = "",
    dataset: str = "",
    example: bool = False,
) -> dict:
    root = Path(sorted_dir).resolve()
    if not root.is_dir():
        raise SessionError(f"sorted folder {root} does not exist; create it with one folder per class")
    state = _load(log_dir)
    if str(root) in state:
        raise SessionError(
            f"a session for {root} is already running since {state[str(root)]['started_utc']}; "
            f"run `clsdet label session stop {sorted_dir}` first"
        )
    tree = scan_tree(root, classes)
    state[str(root)] = {
        "started_utc": to_utc_text(utc_now()),
        "pairs": sorted([list(p) for p in tree.pairs]),
        "classes": classes,
        "annotator": annotator,
        "dataset": dataset or root.name,
        "example": example,
    }
    Path(log_dir).mkdir(parents=True, exist_ok=True)
    _state_path(log_dir).write_text(json.dumps(state, indent=1), encoding="utf-8")
    return {"images": len(tree.images), "labels": len(tree.pairs), "ignored_files": sum(tree.ignored.values())}


def stop_session(
    sorted_dir: Path, log_dir: Path, notes: str = "", annotator: str = "", dataset: str = "", example: bool = False
) -> LabelingLog:
    """Diff the tree against `start`'s snapshot; `annotator`, `dataset` and `example` given here win over start's."""
    root = Path(sorted_dir).resolve()
    state = _load(log_dir)
    if str(root) not in state:
        raise SessionError(f"no session running for {root}; run `clsdet label session start {sorted_dir}` first")
    begun = state.pop(str(root))
    tree = scan_tree(root, begun["classes"])
    before = {tuple(p) for p in begun["pairs"]}
    new_pairs = sorted(tree.pairs - before)
    started, _ = parse_utc(begun["started_utc"])
    ended = utc_now()
    log = LabelingLog(
        method="folder_sort",
        dataset=dataset or begun["dataset"],
        annotator=annotator or begun["annotator"],
        started_utc=begun["started_utc"],
        ended_utc=to_utc_text(ended),
        source="stopwatch",
        active_s=max(round((ended - started).total_seconds(), 3), 0.0),  # a clock set back must not log < 0 s
        n_images=len({name for name, _ in new_pairs}),
        n_labels=len(new_pairs),
        example=example or begun.get("example", False),
        notes=notes or "stopwatch: wall-clock span, pauses not detectable",
        counts={
            "images_at_start": len({n for n, _ in before}),
            "images_at_end": len(tree.images),
            "labels_at_start": len(before),
            "labels_at_end": len(tree.pairs),
            "labels_removed": len(before - tree.pairs),
            "ignored_files": sum(tree.ignored.values()),
            "ignored_by_reason": dict(sorted(tree.ignored.items())),
        },
        events=[Event("arrive", name, label) for name, label in new_pairs],
    )
    _state_path(log_dir).write_text(json.dumps(state, indent=1), encoding="utf-8")
    return log
