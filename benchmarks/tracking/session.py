"""One benchmark's MLflow runs: the parent, a nested run per candidate (and per budget-curve point) timed as its
training, ended with the benchmark's status; their ids kept in the run folder so `--resume` reopens them."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import runtime
from benchmarks.lock import is_held, store_lock
from benchmarks.registry.pipelines import PIPELINES
from benchmarks.runtime import SetupError, check_writable
from benchmarks.tracking.guard import StoreUnreachable, TrackingError, unless_down
from benchmarks.tracking.store import (
    DEFAULT_EXPERIMENT,
    _num,
    absolute_uri,
    artifact_location_for,
    client_for,
    default_tracking_uri,
    ensure_experiment,
    flatten,
    log_params,
)

PARENT_TAG = "mlflow.parentRunId"  # how MLflow itself marks a nested run

log = logging.getLogger(__name__)
_ACTIVE: list[TrackingSession] = []


@contextlib.contextmanager
def ending(end):
    """Run the block, then `end(status)` with MLflow's status for how it went: FINISHED, KILLED on Ctrl-C or a stop
    signal (benchmarks/runtime.py), FAILED on any other exception (re-raised)."""
    status = "FINISHED"
    try:
        yield
    except BaseException as exc:
        status = "KILLED" if runtime.is_interruption(exc) else "FAILED"
        raise
    finally:
        end(status)


# --- the session -------------------------------------------------------------------------------------------------
class TrackingSession(dict):
    """Run ids by role ("parent", a candidate's name, "curve/<job key>") plus "tracking_uri" and "experiment_id".
    `candidates`: {name: resolved config} of the benchmark's candidates, logged as params of their nested runs."""

    def __init__(
        self, client, experiment_id: str, tracking_uri: str, run_dir: Path, tags: dict, resume: dict, candidates=None
    ):
        super().__init__(tracking_uri=tracking_uri, experiment_id=experiment_id)
        self.client, self.run_dir, self._tags = client, Path(run_dir), tags
        self._candidates: dict[str, dict] = candidates or {}
        self._end_ms: dict[str, int] = {}  # role -> when its training ended (ms), for end()
        self._ended = False
        if hasattr(client, "roles"):  # a guarded client names a skipped call's run by its role
            client.roles = self
        # `clsdet bench --resume` continues the same MLflow runs (reopened as RUNNING) instead of starting new ones
        for role, run_id in resume.items():
            client.update_run(run_id, status="RUNNING")
            self[role] = run_id
        if "parent" not in self:
            self["parent"] = client.create_run(experiment_id, run_name=self.run_dir.name, tags=tags).info.run_id
        self._save()

    def __missing__(self, key: str) -> str:
        # a candidate's nested run is created on first use, so that it starts when its training is set up (the
        # harness asks for the id then), not with the benchmark
        if not self._ended and key in self._candidates:
            return self.start_nested(key)
        raise KeyError(key)

    def get(self, key, default=None):
        """The run id of `key`, or `default`: also when the tracking server does not answer (the guarded client noted
        the run as not logged; the benchmark goes on)."""
        try:
            return self[key]
        except (KeyError, StoreUnreachable):
            return default

    def start_nested(self, name: str, start_ms: int | None = None) -> str:
        """The nested run `name` under the parent (created on first call, starting at `start_ms` or now)."""
        if name not in self:
            tags = {**self._tags, PARENT_TAG: self["parent"], "clsdet.model": name}
            run = self.client.create_run(self["experiment_id"], start_time=start_ms, run_name=name, tags=tags)
            self[name] = run.info.run_id
            self._save()
            if isinstance(self._candidates.get(name), dict):
                with unless_down(self.client, name, "params"):
                    log_params(self.client, self[name], flatten(self._candidates[name]))
        return self[name]

    def end_nested(self, name: str, status: str = "FINISHED", end_ms: int | None = None) -> None:
        """End a nested run now (or at `end_ms`); end() leaves it as it is."""
        self.client.set_terminated(self[name], status, end_time=end_ms or _now_ms())

    @contextlib.contextmanager
    def training(self, name: str):
        """The nested run `name` spans the block: started on entry (unless it exists: a resumed run), ended on exit
        FINISHED, FAILED or KILLED. Yields its run id."""
        run_id = self.start_nested(name)
        with ending(lambda status: self.end_nested(name, status)):
            yield run_id

    def training_ended(self, name: str, end_ms: int) -> None:
        """Record when `name`'s training ended: end() stamps its nested run with that time, not its own."""
        self._end_ms[name] = end_ms

    def _save(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / RUNS_FILE).write_text(json.dumps(dict(self), indent=1))

    @property
    def nested(self) -> dict[str, str]:
        return {k: v for k, v in self.items() if k not in ("parent", "tracking_uri", "experiment_id")}

    def end(self, status: str = "FINISHED") -> None:
        """Terminate nested runs still running (Lightning may have ended its own) and the parent with `status`."""
        self._ended = True
        for role, run_id in [*self.nested.items(), ("parent", self["parent"])]:
            try:
                with unless_down(self.client, role, "end status"):
                    if role == "parent" or self.client.get_run(run_id).info.status == "RUNNING":
                        self.client.set_terminated(run_id, status, end_time=self._end_ms.get(role) or _now_ms())
            except Exception as exc:  # ending must never mask the benchmark's own error
                log.warning("could not mark MLflow run %s %s: %r", run_id, status, exc)
        lost = getattr(self.client, "summary", None)
        if lost is not None and lost(self.run_dir):
            print(lost(self.run_dir))

    def not_logged(self) -> dict[str, list[str]]:
        """{role: what was not logged} because the tracking server stopped answering; empty when all of it was."""
        return dict(getattr(self.client, "lost", None) or {})


def _now_ms() -> int:
    return int(time.time() * 1000)


def window_of(record: dict | None) -> tuple[int, int] | None:
    """(start, end) in ms of a timed record (`wall_s` and `finished_utc`: a training job's status.json, or a stage
    record), None when it lacks either."""
    st = record if isinstance(record, dict) else {}
    wall, finished = _num(st.get("wall_s")), st.get("finished_utc")
    if wall is None or not isinstance(finished, str):
        return None
    try:
        end = datetime.fromisoformat(finished.replace("Z", "+00:00"))
    except ValueError:
        return None
    if end.tzinfo is None:
        end = end.replace(tzinfo=UTC)
    end_ms = int(end.timestamp() * 1000)
    return end_ms - int(wall * 1000), end_ms


def _settings(source) -> tuple[dict, dict]:
    """(resolved config dict, its mlflow section) from a BenchConfig or a results document."""
    if hasattr(source, "to_dict"):
        cfg = source.to_dict()
    elif isinstance(source, dict):
        cfg = source.get("config") if isinstance(source.get("config"), dict) else {}
    else:
        cfg = {}
    return cfg, (cfg.get("mlflow") or {})


RUNS_FILE = "mlflow_runs.json"  # in the run folder: the run ids, so a resumed benchmark reopens the same runs


def _earlier_runs(client, run_dir, uri: str, experiment_id: str) -> dict[str, str]:
    """{role: run id} of an earlier session of this run folder in the same store and experiment, if they exist."""
    f = Path(run_dir) / RUNS_FILE
    if not f.exists():
        return {}
    try:
        d = json.loads(f.read_text())
        if d.get("tracking_uri") != uri or d.get("experiment_id") != experiment_id:
            return {}
        runs = {k: v for k, v in d.items() if k not in ("tracking_uri", "experiment_id")}
        for run_id in runs.values():
            client.get_run(run_id)  # raises when the store lost it
        return runs
    except Exception:  # a missing or foreign store: start fresh runs
        return {}


def start_session(source, run_dir: str | Path, tracking_uri: str | None = None, experiment: str | None = None):
    cfg, ml = _settings(source)
    uri = absolute_uri(tracking_uri or ml.get("tracking_uri") or default_tracking_uri())
    name = experiment or ml.get("experiment") or DEFAULT_EXPERIMENT
    try:
        with store_lock(uri):  # two first benches at once would race in the sqlite schema migration
            client = client_for(uri)
            exp_id = ensure_experiment(client, name, artifact_location_for(uri))
        close_orphans(client, exp_id, run_dir)
        tags = {"clsdet.run_dir": str(Path(run_dir).resolve()), "clsdet.benchmark": str(cfg.get("name", ""))}
        earlier = _earlier_runs(client, run_dir, uri, exp_id)
        session = TrackingSession(client, exp_id, uri, Path(run_dir), tags, earlier, candidate_sections(cfg))
    except Exception as exc:
        raise TrackingError(
            f"MLflow store {uri!r} (experiment {name!r}) could not be opened: {exc}; fix `mlflow.tracking_uri` in "
            "the config or --tracking-uri, or unset $MLFLOW_TRACKING_URI to use results/mlflow.db"
        ) from exc
    if cfg:
        log_params(client, session["parent"], flatten(cfg))
    return session


def close_orphans(client, experiment_id: str, own_run_dir: str | Path | None = None) -> list[str]:
    """Mark KILLED the RUNNING runs of benches that died without ending them (SIGKILL, power loss): a run whose
    `clsdet.run_dir` folder no process holds (benchmarks/lock.py). Runs of folders on other hosts, or whose
    folder is gone, cannot be told apart from live ones: they are left alone and counted. Returns the closed ids."""
    own = str(Path(own_run_dir).resolve()) if own_run_dir else None
    closed, unknown = [], 0
    try:
        runs = client.search_runs([experiment_id], "attributes.status = 'RUNNING'", max_results=1000)
    except Exception as exc:  # a store that cannot search: nothing to close, the benchmark goes on
        log.warning("MLflow: could not look for runs left RUNNING by a killed bench: %r", exc)
        return []
    for run in runs:
        folder = run.data.tags.get("clsdet.run_dir")
        if not folder or folder == own:
            continue
        held = is_held(folder)
        if held is None:
            unknown += 1
        elif not held:
            client.set_tag(run.info.run_id, "clsdet.closed_reason", "left RUNNING by a bench that was killed")
            client.set_terminated(run.info.run_id, "KILLED")
            closed.append(run.info.run_id)
    if closed:
        print(
            f"MLflow: marked {len(closed)} run(s) KILLED that a killed bench left RUNNING (no process holds their "
            "run folder)"
        )
    if unknown:
        print(
            f"MLflow: {unknown} run(s) are RUNNING for run folders on another host or deleted; if no bench runs "
            "there, end them in the MLflow UI or with mlflow.MlflowClient().set_terminated(run_id, 'KILLED')"
        )
    return closed


def check_store_writable(cfg) -> None:
    """A sqlite store in a read-only folder makes MLflow retry for ~105 s and fail after the run folder exists:
    checked before anything is written."""
    uri = (cfg.mlflow.tracking_uri if cfg is not None else None) or default_tracking_uri()
    if not uri.startswith("sqlite:///"):
        return
    db = Path(uri[len("sqlite:///") :])
    fix = "set `mlflow.tracking_uri` (or --tracking-uri) to a writable place, or fix its permissions"
    check_writable(db.parent, "the MLflow store's folder", fix)
    if db.exists() and not os.access(db, os.W_OK):
        raise SetupError(f"the MLflow store {db} is read-only; {fix}")


def candidate_sections(cfg: dict) -> dict[str, dict]:
    """{candidate name: its resolved config, with its pipeline} from a resolved config dict (BenchConfig.to_dict)."""
    out = {}
    for p in PIPELINES:
        section = cfg.get(p)
        items = [section] if isinstance(section, dict) and section else section if isinstance(section, list) else []
        for item in items:
            if isinstance(item, dict):
                out[str(item.get("name") or p)] = {"pipeline": p, **{k: v for k, v in item.items() if k != "name"}}
    return out


@contextlib.contextmanager
def tracking_run(results_or_cfg, run_dir: str | Path, tracking_uri: str | None = None, experiment: str | None = None):
    """The whole benchmark inside one parent run: FINISHED, FAILED on an exception, KILLED on KeyboardInterrupt."""
    session = start_session(results_or_cfg, run_dir, tracking_uri, experiment)
    _ACTIVE.append(session)

    def end(status: str) -> None:
        _ACTIVE.remove(session)
        session.end(status)

    with ending(end):
        yield session


def active_session() -> TrackingSession | None:
    return _ACTIVE[-1] if _ACTIVE else None
