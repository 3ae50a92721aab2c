"""Folder-sorting watcher: logs each image a person drops into a label folder, while they sort in a file manager.

Copy, move and link all arrive as created/moved events (watchdog reports them so on both its native and its polling
observer). An image moved from one label folder to another is a re-sort: one row, kind `resort`, from -> to. A delete
followed later by the same file name arriving elsewhere (a move across file systems, or a polling observer that
missed the inode) is merged into one re-sort as well. A renamed file is followed: this session's rows of the old
name take the new one, and a file already sorted before the session stays pre-existing under its new name (neither a
new label nor, later, a removal of something that never arrived). Active time follows CVAT's rule (see timing.py),
so gaps of 100 s or more are pauses, excluded and reported.

Usable from tests without signals: `w = FolderSortWatcher(...); w.start(); ...; log = w.stop()`; or drive it
without any observer through `record_created / record_moved / record_deleted` with explicit times.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.labeling.log_format import Event, LabelingLog, to_utc_text, utc_now
from benchmarks.labeling.timing import active_time
from benchmarks.labeling.tree import classify

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _ms(t: datetime) -> int:
    return (t - _EPOCH) // timedelta(milliseconds=1)


def _from_ms(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)


class FolderSortWatcher:
    def __init__(
        self,
        root: Path,
        classes: list[str] | None = None,
        pause_threshold_s: float = 100.0,
        annotator: str = "",
        dataset: str = "",
        polling: bool = False,
        poll_interval_s: float = 1.0,
        notes: str = "",
        example: bool = False,
        on_event: Callable[[Event, int, int], None] | None = None,
    ) -> None:
        """`on_event(event, images, labels)` is called as each row is recorded, with this session's running totals
        (`clsdet label watch` prints it, so the person sorting sees that it is capturing)."""
        self.root = Path(root).resolve()
        self.classes = list(classes) if classes else None
        self.pause_threshold_s = float(pause_threshold_s)
        self.annotator, self.dataset, self.notes = annotator, dataset or self.root.name, notes
        self.polling, self.poll_interval_s = polling, poll_interval_s
        self.example = example
        self.on_event = on_event
        self.observer_kind = ""
        self._allowed = set(self.classes) if self.classes else None
        self._lock = threading.Lock()
        self._observer = None
        self.started: datetime | None = None
        self.events: list[Event] = []
        self._times_ms: list[int] = []  # every labeling action, for active time
        self._present: dict[str, tuple[str, str]] = {}  # path -> (name, label)
        self._copies: Counter = Counter()  # (name, label) -> files holding it
        self._pending_removal: dict[str, Event] = {}  # name -> its last "remove" row while it has no label
        self._ignored_paths: dict[str, str] = {}  # path -> reason
        self._initial: set[tuple[str, str]] = set()
        self.counts: Counter = Counter()

    # -- life cycle -------------------------------------------------------------------------------------------
    def begin(self, at: datetime | None = None) -> None:
        """Snapshot the tree (what is already sorted is not this session's work) and start the clock."""
        for label in self.classes or []:  # with a class list, the tree can be set up for the person
            (self.root / label).mkdir(parents=True, exist_ok=True)
        if not self.root.is_dir():
            raise FileNotFoundError(
                f"sorted folder {self.root} does not exist; create it with one folder per class, or pass --classes"
            )
        for path in sorted(self.root.rglob("*")):
            if path.is_file() or path.is_symlink():
                label, why = classify(path, self.root, self._allowed)
                if label is None:
                    self._ignored_paths[str(path)] = why
                else:
                    self._present[str(path)] = (path.name, label)
                    self._copies[(path.name, label)] += 1
        self._initial = {pair for pair, n in self._copies.items() if n > 0}
        self.started = at or utc_now()

    def start(self) -> None:
        """begin() and start a watchdog observer (native, falling back to polling)."""
        # deferred: watchdog takes ~30 ms to import; the CLI loads this module at start-up
        from watchdog.events import FileSystemEventHandler

        # deferred: watchdog takes ~30 ms to import; the CLI loads this module at start-up
        from watchdog.observers.polling import PollingObserver

        self.begin()
        watcher = self

        class _Handler(FileSystemEventHandler):
            def on_created(self, event):
                if not event.is_directory:
                    watcher.record_created(event.src_path)

            def on_modified(self, event):  # a copy still being written, or a file we missed
                if not event.is_directory:
                    watcher.record_created(event.src_path)

            def on_closed(self, event):
                if not event.is_directory:
                    watcher.record_created(event.src_path)

            def on_moved(self, event):
                if not event.is_directory:
                    watcher.record_moved(event.src_path, event.dest_path)

            def on_deleted(self, event):
                if not event.is_directory:
                    watcher.record_deleted(event.src_path)

        observer = None
        if not self.polling:
            try:
                from watchdog.observers import Observer  # deferred: watchdog is slow to import; polling needs none

                observer = Observer()
                observer.schedule(_Handler(), str(self.root), recursive=True)
                observer.start()
            except OSError:  # e.g. inotify watch limit reached, or a network file system
                observer = None
        if observer is None:
            observer = PollingObserver(timeout=self.poll_interval_s)
            observer.schedule(_Handler(), str(self.root), recursive=True)
            observer.start()
        self.observer_kind = type(observer).__name__
        self._observer = observer

    def stop(self, at: datetime | None = None) -> LabelingLog:
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=10)
            self._observer = None
        if self.started is None:
            raise RuntimeError("stop() before start()/begin()")
        with self._lock:
            return self._build_log(at or utc_now())

    # -- events -----------------------------------------------------------------------------------------------
    def record_created(self, path: str | Path, at: datetime | None = None) -> None:
        with self._lock:
            self._arrive(str(path), at or utc_now())

    def record_deleted(self, path: str | Path, at: datetime | None = None) -> None:
        with self._lock:
            self._remove(str(path), at or utc_now())

    def record_moved(self, src: str | Path, dest: str | Path, at: datetime | None = None) -> None:
        src, dest, t = str(src), str(dest), at or utc_now()
        with self._lock:
            old = self._present.get(src)
            new_label, why = classify(Path(dest), self.root, self._allowed)
            if old is None or new_label is None:  # from outside the labeled tree, or out of it
                self._ignored_paths.pop(src, None)
                self._remove(src, t)
                self._arrive(dest, t)
                return
            name, old_label = old
            del self._present[src]
            self._present[dest] = (Path(dest).name, new_label)
            self._copies[old] -= 1
            self._copies[(Path(dest).name, new_label)] += 1
            if Path(dest).name != name:
                self._follow_rename(name, Path(dest).name, old_label)
            if old_label == new_label:
                return  # a rename inside one folder changes no label
            self._times_ms.append(_ms(t))
            self.counts["resorts"] += 1
            self._record(Event("resort", Path(dest).name, new_label, to_utc_text(t), from_label=old_label))

    def _follow_rename(self, old_name: str, new_name: str, label: str) -> None:
        """The file carrying `label` is now called `new_name`: its rows of this session and, once no copy keeps the
        old name, its place among the labels sorted before the session follow it."""
        self.counts["renames"] += 1
        for event in self.events:
            if event.image == old_name and event.label == label and event.kind in ("arrive", "resort"):
                event.image = new_name
        if (old_name, label) in self._initial and self._copies[(old_name, label)] <= 0:
            self._initial.discard((old_name, label))
            self._initial.add((new_name, label))

    def _arrive(self, path: str, t: datetime) -> None:
        if path in self._present:
            return  # a modified/closed event of a file already counted
        label, why = classify(Path(path), self.root, self._allowed)
        if label is None:
            if path not in self._ignored_paths and Path(path).exists():
                self._ignored_paths[path] = why
            return
        name = Path(path).name
        self._present[path] = (name, label)
        self._copies[(name, label)] += 1
        if self._copies[(name, label)] > 1:
            self.counts["duplicate_copies"] += 1
            return
        self._times_ms.append(_ms(t))
        removed = self._pending_removal.pop(name, None)
        if removed is not None and not self._labels_of(name) - {label}:
            self.events.remove(removed)  # delete + arrive of one name: a re-sort, one row
            self.counts["removals"] -= 1
            self.counts["resorts"] += 1
            self._record(Event("resort", name, label, to_utc_text(t), from_label=removed.label))
        else:
            self._record(Event("arrive", name, label, to_utc_text(t)))

    def _remove(self, path: str, t: datetime) -> None:
        self._ignored_paths.pop(path, None)
        pair = self._present.pop(path, None)
        if pair is None:
            return
        self._copies[pair] -= 1
        if self._copies[pair] > 0:
            return  # another copy still carries the label
        self._times_ms.append(_ms(t))
        self.counts["removals"] += 1
        event = Event("remove", pair[0], pair[1], to_utc_text(t))
        self._record(event)
        if not self._labels_of(pair[0]):
            self._pending_removal[pair[0]] = event

    def _record(self, event: Event) -> None:
        self.events.append(event)
        if self.on_event is not None:
            new = self.final_pairs() - self._initial
            self.on_event(event, len({name for name, _ in new}), len(new))

    def _labels_of(self, name: str) -> set[str]:
        return {label for (n, label), c in self._copies.items() if n == name and c > 0}

    # -- result -----------------------------------------------------------------------------------------------
    def final_pairs(self) -> set[tuple[str, str]]:
        return {pair for pair, n in self._copies.items() if n > 0}

    def _build_log(self, ended: datetime) -> LabelingLog:
        start_ms, end_ms = _ms(self.started), max(_ms(ended), _ms(self.started))
        times = sorted(min(max(x, start_ms), end_ms) for x in self._times_ms)
        threshold_ms = round(self.pause_threshold_s * 1000)
        at = active_time([start_ms, *times, end_ms], threshold_ms=threshold_ms)
        new_pairs = self.final_pairs() - self._initial
        ignored = Counter(self._ignored_paths.values())
        counts = {
            "resorts": self.counts["resorts"],
            "removals": self.counts["removals"],
            "duplicate_copies": self.counts["duplicate_copies"],
            "renames": self.counts["renames"],
            "preexisting_labels": len(self._initial),
            "final_labels": len(self.final_pairs()),
            "ignored_files": sum(ignored.values()),
            "ignored_by_reason": dict(sorted(ignored.items())),
            "observer": self.observer_kind or "manual",
        }
        return LabelingLog(
            method="folder_sort",
            dataset=self.dataset,
            annotator=self.annotator,
            started_utc=to_utc_text(self.started),
            ended_utc=to_utc_text(_from_ms(end_ms)),
            source="watcher",
            active_s=at.active_ms / 1000,
            n_images=len({name for name, _ in new_pairs}),
            n_labels=len(new_pairs),
            notes=self.notes,
            example=self.example,
            pause_threshold_s=self.pause_threshold_s,
            paused_s=at.paused_ms / 1000,
            pauses=[
                {"start_utc": to_utc_text(_from_ms(a)), "end_utc": to_utc_text(_from_ms(b)), "gap_s": (b - a) / 1000}
                for a, b in at.pauses()
            ],
            counts=counts,
            events=list(self.events),
        )
