"""Who owns a run folder: a file lock held while `clsdet bench` works in it, and who holds it.

    with hold_run_folder(run_dir):      # RunFolderBusyError at once if another bench holds it
        ...
    is_held(run_dir)                    # True while a live process holds it (the OS drops a killed process's lock)

Two `clsdet bench --resume` on one run folder would both train into the same job folders; the second fails with
the first one's pid and host instead. `owner.json` beside the lock names the holder; the lock itself is what
counts (a SIGKILLed process leaves owner.json behind but no lock). Also: `store_lock(db)` serialises the first
use of a sqlite MLflow store (two first benches at once race in its schema migration and corrupt it).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from pathlib import Path

LOCK_FILE = ".bench.lock"
OWNER_FILE = "owner.json"
STORE_LOCK_TIMEOUT_S = 300  # a first migration takes seconds; a server-side hang should not block forever


class RunFolderBusyError(RuntimeError):
    user_error = True


def _lock(path: Path, timeout: float):
    # deferred: filelock takes ~25 ms to import; the CLI loads this module at start-up
    from filelock import FileLock

    return FileLock(str(path), timeout=timeout)


def owner(run_dir: str | Path) -> dict:
    try:
        return json.loads((Path(run_dir) / OWNER_FILE).read_text())
    except (OSError, ValueError):
        return {}


@contextlib.contextmanager
def hold_run_folder(run_dir: str | Path):
    # deferred: filelock takes ~25 ms to import; the CLI loads this module at start-up
    from filelock import Timeout

    run_dir = Path(run_dir)
    lock = _lock(run_dir / LOCK_FILE, timeout=0)
    try:
        lock.acquire()
    except Timeout:
        o = owner(run_dir)
        who = f"pid {o.get('pid')} on {o.get('hostname')}" if o else "another process"
        raise RunFolderBusyError(
            f"run folder {run_dir} is in use by another `clsdet bench` ({who}); wait for it to finish, or stop it, "
            "then run `clsdet bench ... --resume` again"
        ) from None
    try:
        (run_dir / OWNER_FILE).write_text(json.dumps({"pid": os.getpid(), "hostname": socket.gethostname()}))
        yield run_dir
    finally:
        lock.release()


def is_held(run_dir: str | Path) -> bool | None:
    """True while a process holds the run folder, False when none does, None when it cannot be told (the folder
    is gone, or the holder was on another host: a lock is only seen on the machine that took it)."""
    # deferred: filelock takes ~25 ms to import; the CLI loads this module at start-up
    from filelock import Timeout

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return None
    o = owner(run_dir)
    if o.get("hostname") not in (None, socket.gethostname()):
        return None
    lock = _lock(run_dir / LOCK_FILE, timeout=0)
    try:
        lock.acquire()
    except Timeout:
        return True
    except OSError:  # read-only folder and no lock file: nobody can hold it
        return None
    lock.release()
    return False


@contextlib.contextmanager
def store_lock(tracking_uri: str):
    """Serialise opening a sqlite MLflow store (its creation and schema migration) across processes."""
    if not tracking_uri.startswith("sqlite:///"):
        yield
        return
    db = Path(tracking_uri[len("sqlite:///") :])
    db.parent.mkdir(parents=True, exist_ok=True)
    with _lock(db.with_name(db.name + ".lock"), timeout=STORE_LOCK_TIMEOUT_S):
        yield
