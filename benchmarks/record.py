"""results.json: the versioned, append-only record of one benchmark run (written once by the run; a re-measurement
on another machine adds records, never overwrites one).

The harness writes it first; reports and MLflow only read it. Layout: see `REQUIRED` below and the schema in the
README. Latency records are append-only: `append_latency` adds another machine's (or a repeated) measurement and never
replaces one, and `write_results` keeps any latency record already on disk that the new document lacks, so a rewrite
by the harness cannot drop a record another process appended. Reports show the newest record per cell
(`newest_per_cell`) with how many measurements the cell has.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import re
import secrets
import shutil
import statistics
import tempfile
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 3  # 2: models keyed by candidate, each with pipeline + labeling_method; curve points
# 3: one spelling per labeling method: the curve said `cvat_boxes` where the labeling logs and costs say `cvat`
RESULTS_FILE = "results.json"
# a latency "cell": one measurement setting on one machine; repeated measurements of a cell are all kept
# backend and kind (latency | peak_throughput | timer_check) came with the deployment variants; older records read
# as eager latency
CELL_KEYS = ("model", "machine_id", "device", "batch_size", "scope", "dtype", "backend", "kind")
CELL_DEFAULTS = {"backend": "eager", "kind": "latency"}
# what identifies one latency record (a cell measured at one time, in one round)
RECORD_KEYS = (*CELL_KEYS, "measured_utc", "round")
# per-round statistics that newest_per_cell reports as the median over the rounds of one session
ROUND_STATS = ("latency_ms_p50", "latency_ms_p90", "latency_ms_p99", "latency_ms_mean", "throughput_img_s")


class RecordError(ValueError):
    user_error = True


class DiskFullError(OSError):
    """No space left where the run writes: one `error:` line naming the file, not a traceback (benchmarks/cli.py)."""

    user_error = True

    def __str__(self) -> str:  # the message alone, without OSError's "[Errno 28]" prefix
        return str(self.strerror)


_NO_SPACE = {errno.ENOSPC, errno.EDQUOT}
# how libraries say it without an errno: torch.save ("PytorchStreamWriter failed writing file ...: file write
# failed"), and the C library's own text in a wrapped error
_NO_SPACE_TEXT = ("No space left on device", "Disk quota exceeded", "file write failed")


def is_disk_full(exc: BaseException) -> bool:
    """Whether `exc` (or an exception it was raised from) is a full disk or an exceeded quota."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, DiskFullError) or (isinstance(exc, OSError) and exc.errno in _NO_SPACE):
            return True
        if any(text in str(exc) for text in _NO_SPACE_TEXT):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def disk_full_error(path: str | Path, what: str = "") -> DiskFullError:
    """The error to raise: the file, the free space left where it goes, and what to do."""
    path = Path(path)
    probe = path.parent
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        free = f"{shutil.disk_usage(probe).free / 1e6:.1f} MB free on that disk"
    except OSError:
        free = "free space unknown"
    return DiskFullError(
        errno.ENOSPC,
        f"disk full writing {path}{f' ({what})' if what else ''}: {free}; free space (or give --out on a larger "
        "disk), then run the same command with --resume: finished jobs and stages are kept, nothing half-written "
        "is trusted",
    )


# --- migrations: MIGRATIONS[v] turns a version-v document into a version-(v+1) one -------------------------------
MIGRATIONS: dict[int, Callable[[dict], dict]] = {}


def register_migration(from_version: int):
    """Decorator: register `fn(results) -> results` upgrading `from_version` to `from_version + 1`."""

    def deco(fn: Callable[[dict], dict]) -> Callable[[dict], dict]:
        MIGRATIONS[from_version] = fn
        return fn

    return deco


def migrate(results: dict, source: str = RESULTS_FILE) -> dict:
    version = results.get("schema_version")
    if not isinstance(version, int):
        raise RecordError(f"{source}: no integer `schema_version` (got {version!r}); is this a clsdet results.json?")
    if version > SCHEMA_VERSION:
        raise RecordError(
            f"{source}: schema_version {version} was written by a newer clsdet (this one reads {SCHEMA_VERSION}); "
            "upgrade clsdet to read it"
        )
    while version < SCHEMA_VERSION:
        step = MIGRATIONS.get(version)
        if step is None:
            raise RecordError(
                f"{source}: schema_version {version} is not supported (this clsdet reads {SCHEMA_VERSION}) and no "
                f"migration from {version} is registered; re-run the benchmark, or add one with "
                f"@register_migration({version}) in benchmarks/record.py"
            )
        results = step(dict(results))
        version += 1
        results["schema_version"] = version
    return results


# the pipeline registry's view at version 1, when the two models were the only two candidates
_V1_PIPELINES = {"classifier": "folder_sort", "detector": "cvat"}


@register_migration(1)
def _v1_to_v2(results: dict) -> dict:
    """v1 had exactly one classifier and one detector, keyed by pipeline name: each becomes a candidate of that
    name, with its pipeline and labeling method; there was no budget curve."""
    models = {}
    for name, entry in (results.get("models") or {}).items():
        if isinstance(entry, dict):
            entry = {**entry, "pipeline": entry.get("pipeline", name)}
            entry.setdefault("labeling_method", _V1_PIPELINES.get(entry["pipeline"]))
            entry.setdefault("architecture", entry.get("name"))
            entry["name"] = name
            for rec in entry.get("latency") or []:
                if isinstance(rec, dict):
                    rec.setdefault("pipeline", entry["pipeline"])
        models[name] = entry
    results["models"] = models
    results.setdefault("curve", None)
    return results


# the curve's spellings before version 3 -> the labeling methods' one spelling (benchmarks/registry/methods.py)
_V2_METHOD_NAMES = {"cvat_boxes": "cvat"}


def respell_methods(obj: Any) -> Any:
    """`obj` (a curve section or curve.json) with the pre-version-3 method spellings replaced, as keys and as values:
    a method name is nothing else there."""
    if isinstance(obj, dict):
        return {_V2_METHOD_NAMES.get(k, k): respell_methods(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [respell_methods(v) for v in obj]
    return _V2_METHOD_NAMES.get(obj, obj) if isinstance(obj, str) else obj


@register_migration(2)
def _v2_to_v3(results: dict) -> dict:
    """The budget curve's `cvat_boxes` becomes `cvat`, the spelling of the labeling logs and of `labeling`."""
    if isinstance(results.get("curve"), dict):
        results["curve"] = respell_methods(results["curve"])
    return results


# --- ids and times -----------------------------------------------------------------------------------------------
def model_pipeline(name: str, entry: dict | None) -> str:
    """The pipeline of results.json's model `name` (its entry in `models`); records written before candidates existed
    key models by pipeline name and carry no `pipeline`."""
    return str((entry or {}).get("pipeline") or name)


def fmt_s(seconds: float) -> str:
    """A duration as people read it: '42 s', '5 min 08 s', '1 h 02 min' (plans, budgets, ETAs)."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {(s % 3600) // 60:02d} min"


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_run_id(name: str) -> str:
    """`20261124T083000Z-demo-ab12cd`: sortable by time, readable, unique (3 random bytes)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", str(name)).strip("-.")[:40] or "run"
    return f"{stamp}-{slug}-{secrets.token_hex(3)}"


# --- reading and writing -----------------------------------------------------------------------------------------
def results_path(run_dir: str | Path) -> Path:
    p = Path(run_dir)
    return p if p.suffix == ".json" else p / RESULTS_FILE


def _plain(obj: Any) -> Any:
    """JSON-safe copy: numpy scalars/arrays -> Python, Path -> str, NaN/inf -> None (JSON has no NaN)."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if isinstance(obj, bool) or obj is None or isinstance(obj, str | int):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "tolist"):  # numpy scalar or array, torch tensor
        return _plain(obj.tolist())
    if hasattr(obj, "item"):
        return _plain(obj.item())
    return str(obj)


def _atomic_write(path: Path, text: str) -> None:
    """Write to a temporary file beside `path`, then rename it over `path`: a reader (or `--resume`) sees the old
    file or the new one, never half of one; a full disk is a DiskFullError naming `path`."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        if is_disk_full(exc):
            raise disk_full_error(path) from None
        raise
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        Path(tmp).replace(path)  # atomic on POSIX and Windows: readers see the old or the new file, never half
    except BaseException as exc:
        with contextlib.suppress(OSError):
            Path(tmp).unlink()
        if isinstance(exc, OSError) and is_disk_full(exc):
            raise disk_full_error(path) from None
        raise


@contextlib.contextmanager
def _locked(path: Path):
    """Serialise read-modify-write of one results.json between processes (advisory lock; no-op without fcntl)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl  # deferred: POSIX only; the ImportError below is the Windows case
    except ImportError:  # Windows: single-writer is the user's job there
        yield
        return
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _cell_value(rec: dict, key: str):
    v = rec.get(key)
    return CELL_DEFAULTS.get(key) if v is None else v


def _record_id(rec: dict) -> tuple:
    return tuple(json.dumps(_cell_value(rec, k), sort_keys=True) for k in RECORD_KEYS)


def _keep_existing_latency(new: dict, old: dict) -> None:
    """Put back every latency record of `old` that `new` lacks (append-only across rewrites)."""
    for model, entry in (old.get("models") or {}).items():
        old_recs = (entry or {}).get("latency") or []
        if not old_recs:
            continue
        new_entry = new.setdefault("models", {}).setdefault(model, {"name": (entry or {}).get("name", model)})
        if new_entry is None:  # the new document says the model has no entry at all; keep the records anyway
            new_entry = new["models"][model] = {"name": model}
        recs = new_entry.get("latency")
        if not isinstance(recs, list):
            recs = new_entry["latency"] = []
        seen = {_record_id(r) for r in recs if isinstance(r, dict)}
        missing = [r for r in old_recs if isinstance(r, dict) and _record_id(r) not in seen]
        recs[:0] = missing  # older records first, so list order stays oldest -> newest


def read_json(path: str | Path, default: Any = None, tolerant: bool = False) -> Any:
    """A stage output or record read back: `default` when the file does not exist. `tolerant`: also `default` when it
    cannot be read or is not JSON (a status or plan file another process may be writing); otherwise that raises."""
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return default
    except (OSError, ValueError):
        if tolerant:
            return default
        raise


def write_json(path: str | Path, obj: Any, indent: int = 1) -> Path:
    """Any stage output: JSON-safe (numpy, Path, NaN -> null) and written atomically. Returns the path."""
    path = Path(path)
    _atomic_write(path, json.dumps(_plain(obj), indent=indent, allow_nan=False))
    return path


def write_results(run_dir: str | Path, results: dict) -> Path:
    """Write results.json atomically; latency records already on disk are never dropped. Returns the path."""
    path = results_path(run_dir)
    doc = _plain(results)
    doc.setdefault("schema_version", SCHEMA_VERSION)
    with _locked(path):
        if path.is_file():
            try:
                old = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError):
                old = {}
            if isinstance(old, dict):
                _keep_existing_latency(doc, old)
        _atomic_write(path, json.dumps(doc, indent=1, sort_keys=False, allow_nan=False) + "\n")
    return path


def load_results(run_dir: str | Path) -> dict:
    """Read and (if needed) migrate a run's results.json; clear errors for a missing or foreign file."""
    path = results_path(run_dir)
    if not path.is_file():
        hint = "" if path.parent.is_dir() else f" (the folder {path.parent} does not exist either)"
        raise RecordError(
            f"{path} not found{hint}: give the run folder a benchmark wrote (results/runs/<run-id>), "
            "or run `clsdet bench` first"
        )
    fix = "restore it from a copy of the run, or run the benchmark again (`clsdet bench CONFIG`)"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise RecordError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); {fix}") from None
    except UnicodeDecodeError as exc:  # clsdet writes UTF-8: another encoding or binary means a damaged file
        raise RecordError(
            f"{path}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}): not a results.json "
            f"clsdet wrote; {fix}"
        ) from None
    if not isinstance(data, dict):
        raise RecordError(f"{path}: the top level must be an object, got {type(data).__name__}")
    return migrate(data, str(path))


def append_latency(run_dir: str | Path, model: str, records: Iterable[dict]) -> Path:
    """Append latency records to `models.<model>.latency`; never replaces or drops one (a re-measured cell is
    appended as well). Safe against another process appending at the same time."""
    path = results_path(run_dir)
    new = [_plain(dict(r)) for r in records]
    for r in new:
        r.setdefault("model", model)
        r.setdefault("measured_utc", utc_now())
    with _locked(path):
        results = load_results(path)
        models = results.get("models") or {}
        if not isinstance(models.get(model), dict):
            names = ", ".join(k for k, v in models.items() if isinstance(v, dict)) or "none"
            raise RecordError(f"{path}: no model {model!r} to append latency to; models in this run: {names}")
        recs = models[model].get("latency")
        if not isinstance(recs, list):
            recs = models[model]["latency"] = []
        recs.extend(new)
        _atomic_write(path, json.dumps(results, indent=1, allow_nan=False) + "\n")
    return path


def newest_per_cell(records: Iterable[dict], kind: str = "latency") -> list[dict]:
    """One record per cell (CELL_KEYS) of `kind`: the newest session's, with `n_measurements` (sessions of the cell).

    A session measured in interleaved rounds (records sharing `session`, each with its `round`) becomes one
    record: ROUND_STATS are the median over its ok rounds, `latency_ms_p50_rounds` keeps each round's p50 and
    `latency_ms_p50_spread_pct` = (max - min) / median, in %."""
    groups: dict[tuple, list[dict]] = {}
    for rec in records or []:
        if isinstance(rec, dict) and _cell_value(rec, "kind") == kind:
            groups.setdefault(tuple(json.dumps(_cell_value(rec, k)) for k in CELL_KEYS), []).append(rec)
    out = []
    for recs in groups.values():
        newest = max(enumerate(recs), key=lambda ir: (str(ir[1].get("measured_utc") or ""), ir[0]))[1]
        session = newest.get("session")
        rounds = [r for r in recs if session is not None and r.get("session") == session] or [newest]
        # a measurement = one session (its rounds together); records from before sessions count one each
        sessions = {r.get("session") or f"record {i}" for i, r in enumerate(recs)}
        merged = {**newest, "n_measurements": len(sessions)}
        ok = [r for r in rounds if r.get("status") == "ok" and isinstance(r.get("latency_ms_p50"), (int, float))]
        if len(rounds) > 1 and ok:
            for k in ROUND_STATS:
                vals = [r[k] for r in ok if isinstance(r.get(k), (int, float))]
                merged[k] = statistics.median(vals) if vals else None
            p50 = [r["latency_ms_p50"] for r in ok]
            med = statistics.median(p50)
            merged.update(status="ok", error=None, n_rounds=len(ok), latency_ms_p50_rounds=p50,
                          latency_ms_p50_spread_pct=(max(p50) - min(p50)) / med * 100 if med else None)  # fmt: skip
        out.append(merged)
    return out


# --- validation --------------------------------------------------------------------------------------------------
REQUIRED = {
    "": ["schema_version", "run_id", "created_utc", "machine", "commit", "config", "data", "split", "models"],
    "machine": ["machine_id", "hostname"],
    "split": ["counts"],
    "data": ["classes"],
}
MODEL_REQUIRED = [
    "name",
    "pipeline",
    "labeling_method",
    "accuracy",
    "training",
    "size",
    "latency",
]  # values may be null when the stage failed
ACCURACY_REQUIRED = ["n_test", "macro_ap", "macro_ap_ci95", "micro_ap", "macro_f1", "macro_f1_ci95", "per_class"]
LATENCY_REQUIRED = ["model", "machine_id", "device", "dtype", "batch_size", "scope", "status"]
LATENCY_OK_REQUIRED = ["latency_ms_p50", "warmup", "iters", "threads", "sync", "timer"]
LABELING_REQUIRED = ["source", "hours"]


def _missing(obj: Any, keys: list[str], where: str) -> list[str]:
    if not isinstance(obj, dict):
        return [f"{where or '<top level>'}: expected an object, got {type(obj).__name__}"]
    return [f"{where + '.' if where else ''}{k}: missing" for k in keys if k not in obj]


def validate(results: Any) -> list[str]:
    """Problems with a results document, each naming its key path (empty list = valid)."""
    problems = _missing(results, REQUIRED[""], "")
    if not isinstance(results, dict):
        return problems
    if results.get("schema_version") not in (None, SCHEMA_VERSION):
        problems.append(f"schema_version: {results['schema_version']!r}, expected {SCHEMA_VERSION}")
    for section in ("machine", "split", "data"):
        if section in results:
            problems += _missing(results[section], REQUIRED[section], section)
    models = results.get("models")
    if "models" in results and not isinstance(models, dict):
        problems.append(f"models: expected an object, got {type(models).__name__}")
        models = {}
    for name, entry in (models or {}).items():
        where = f"models.{name}"
        problems += _missing(entry, MODEL_REQUIRED, where)
        if not isinstance(entry, dict):
            continue
        if isinstance(entry.get("accuracy"), dict):
            problems += _missing(entry["accuracy"], ACCURACY_REQUIRED, f"{where}.accuracy")
        lat = entry.get("latency")
        if lat is not None and not isinstance(lat, list):
            problems.append(f"{where}.latency: expected a list, got {type(lat).__name__}")
            continue
        for i, rec in enumerate(lat or []):
            problems += _missing(rec, LATENCY_REQUIRED, f"{where}.latency[{i}]")
            if isinstance(rec, dict) and rec.get("status") == "ok":
                problems += _missing(rec, LATENCY_OK_REQUIRED, f"{where}.latency[{i}]")
    for method, entry in (results.get("labeling") or {}).items():
        if entry is not None:
            problems += _missing(entry, LABELING_REQUIRED, f"labeling.{method}")
    return problems
