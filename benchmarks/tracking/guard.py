"""A tracking server that stops answering costs the benchmark nothing but its logging: the harness's MLflow calls give
up after bounded retries, and once the server is unreachable the rest are skipped at once and listed, so the run
finishes, writes results.json and its reports, and says what `clsdet log RUN_DIR` has to log later.

    client = Guarded(MlflowClient(uri), uri)   # what client_for returns
    client.log_batch(...)        # server gone: skipped and noted (a call that returns nothing)
    client.get_run(...)          # server gone: raises StoreUnreachable (the caller has nothing to go on with)
    with unless_down(client, "classifier", "results"):   # a section given up, noted, and the benchmark goes on
        ...
    client.try_again()           # the next call asks the server again (the results step, after training)
    client.summary()             # what was not logged, by run; None when nothing was lost
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


class TrackingError(RuntimeError):
    """The MLflow store cannot be used (a user error: the message says which store and what to fix)."""

    user_error = True


# MLflow's own defaults (7 retries with backoff factor 2, 120 s per request: "~4 minutes" per call, see
# mlflow/environment_variables.py) make a lost server look like a hang, call after call. The harness sets these for
# its runs when the user has not: a refused connection gives up after ~6 s (urllib3 waits 0, 2, 4 s between the
# tries), a server that accepts but never answers after 4 x 30 s. The user's own values win.
HTTP_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "3",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
}


def bound_http_requests() -> None:
    """Set HTTP_DEFAULTS where the environment has no value; training jobs in worker processes inherit them."""
    for key, value in HTTP_DEFAULTS.items():
        os.environ.setdefault(key, value)


class StoreUnreachable(TrackingError):
    """The tracking server did not answer (after MLflow's retries), or stopped answering earlier in this run."""


def unreachable(exc: BaseException) -> bool:
    """Whether an MLflow error means the server did not answer (refused, reset, timed out, or an error status after
    every retry), not that it answered with a refusal (a bad param, a missing run): only the first is skipped."""
    # deferred: requests is heavy
    import requests

    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, requests.exceptions.ConnectionError | requests.exceptions.Timeout | ConnectionError):
            return True
        if isinstance(exc, requests.exceptions.RetryError | StoreUnreachable):
            return True
        exc = exc.__cause__ or exc.__context__  # MLflow re-raises the requests error without `from`
    return False


# calls that return nothing: skipped and noted; any other call raises StoreUnreachable once the server is gone
_NOTHING_BACK = {
    "log_batch", "log_param", "log_metric", "set_tag", "delete_tag", "set_terminated", "update_run", "log_artifact",
    "log_artifacts", "log_dict", "log_text", "log_table", "log_figure", "log_image", "log_inputs", "log_outputs",
}  # fmt: skip


def _what(name: str, args: tuple, kwargs: dict) -> str:
    """What a skipped call would have logged, in words."""
    if name == "log_batch":
        parts = [k for k in ("params", "metrics", "tags") if kwargs.get(k)]
        return ", ".join(parts) or "a batch"
    if name in ("log_artifact", "log_artifacts"):
        path = kwargs.get("local_path") or kwargs.get("local_dir") or (args[1] if len(args) > 1 else "")
        return f"artifact {Path(str(path)).name}{'/' if name == 'log_artifacts' else ''}"
    if name == "log_table":
        return f"table {kwargs.get('artifact_file') or (args[2] if len(args) > 2 else '')}"
    if name in ("set_terminated", "update_run"):
        return "end status"
    if name == "create_run":
        return "its run"
    return name


class Guarded:
    """An MlflowClient whose calls stop at the first sign of a server that does not answer (see the module doc).
    `roles`: {role: run id} (the session), to name a skipped call's run by its role."""

    def __init__(self, client, uri: str):
        self._client, self.uri = client, uri
        self.down: str | None = None  # the call that found the server gone, and its error
        self.first_down: str | None = None
        self.lost: dict[str, list[str]] = {}  # role -> what was not logged, in order
        self.roles: dict = {}
        self.warned = False

    def __getattr__(self, name: str):
        if name == "_client":  # not set yet (a copy being built): no recursion
            raise AttributeError(name)
        attr = getattr(self._client, name)
        if name.startswith("_") or not callable(attr):
            return attr

        def call(*args, **kwargs):
            if self.down is None:
                try:
                    return attr(*args, **kwargs)
                except Exception as exc:
                    if not unreachable(exc):
                        raise
                    self._went_down(name, exc)
            return self._skip(name, args, kwargs)

        return call

    def _went_down(self, name: str, exc: Exception) -> None:
        self.down = f"{name}: {_root_cause(exc)}"
        if self.first_down is None:
            self.first_down = self.down
        if self.roles and not self.warned:  # before a session exists, opening it fails with its own error
            self.warned = True
            print(
                f"warning: the MLflow tracking server {self.uri} does not answer ({self.down}); the run goes on "
                "without it and lists at the end what was not logged"
            )

    def _skip(self, name: str, args: tuple, kwargs: dict):
        role = kwargs.get("run_name") if name == "create_run" else self._role(kwargs.get("run_id") or _first(args))
        if name in _NOTHING_BACK or name == "create_run":
            self.note(role, _what(name, args, kwargs))
        if name in _NOTHING_BACK:
            return None
        raise StoreUnreachable(f"the MLflow tracking server {self.uri} does not answer ({self.down})")

    def _role(self, run_id) -> str:
        for role, rid in dict(self.roles).items():
            if rid == run_id and role not in ("tracking_uri", "experiment_id"):
                return role
        return str(run_id or "the store")

    def note(self, role: str | None, what: str) -> None:
        items = self.lost.setdefault(str(role or "the store"), [])
        if what not in items:
            items.append(what)

    def try_again(self) -> None:
        """The next call asks the server again (it may be back); a failure is skipped and noted as before."""
        self.down = None

    def summary(self, run_dir: str | Path | None = None) -> str | None:
        if not self.lost:
            return None
        runs = "; ".join(f"{role}: {', '.join(what)}" for role, what in self.lost.items())
        where = str(run_dir) if run_dir else "RUN_DIR"
        return (
            f"warning: MLflow: not logged to {self.uri}, which stopped answering ({self.first_down}): {runs}. The run "
            f"folder holds all of it: `clsdet log {where} --tracking-uri {self.uri}` logs it once the server is back "
            "(or give another store's URI)"
        )


def _root_cause(exc: BaseException) -> str:
    """The error at the bottom of MLflow's and requests' wrapping: "ConnectionRefusedError: [Errno 111] ..."."""
    seen = set()
    while (exc.__cause__ or exc.__context__) is not None and id(exc) not in seen:
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return f"{type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}".rstrip(": ")


def _first(args: tuple):
    return args[0] if args else None


@contextlib.contextmanager
def unless_down(client, role: str, what: str):
    """Run the block; when the tracking server does not answer, note `what` of `role` as not logged and go on."""
    try:
        yield
    except StoreUnreachable:
        note = getattr(client, "note", None)
        if note is not None:
            note(role, what)
