"""`clsdet cvat pull`: download a CVAT task's, project's or job's "CVAT for images 1.1" export (with images) and its
analytics events CSV (labeling time) through cvat-sdk, and write `pull.json` beside them.

Credentials come from the environment (`CVAT_ACCESS_TOKEN`, or `CVAT_USER` + `CVAT_PASSWORD`) or `~/.netrc`
(`$NETRC` if set; machine = the URL's host), never from argv. They never reach output, logs or files: every message
and every log record made during a pull goes through a `client.Redactor` (the credential, the session cookies,
header- and token-shaped text), sdk exceptions (whose text holds response headers, e.g. Set-Cookie) are never
printed whole, and chained tracebacks are cut (`from None`). Every request has a timeout and a bounded number of
tries (`client.bound_requests`), so a server that never answers ends in an error naming the URL.

Server flow (cvat-sdk 2.80): `POST /api/tasks/{id}/dataset/export?format=...&save_images=True` -> 202 {rq_id},
`GET /api/requests/{rq_id}` until finished -> `result_url` -> bytes; events likewise via `POST /api/events/export
?task_id=`, or on servers without it the older `GET /api/events?task_id=` query_id exchange. A project or a job is
the same flow on `/api/projects/{id}` and `/api/jobs/{id}` (both have `dataset/export`), its events filtered by
`project_id=` or `job_id=` (CVAT's REST API: the events export takes any of the three filters).
"""

from __future__ import annotations

import hashlib
import json
import netrc
import os
import shutil
import socket
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from benchmarks.cvat.client import DEFAULT_RETRIES, DEFAULT_TIMEOUT_S, NoAnswer, Redactor, bound_requests, redacted_logs

EXPORT_FORMAT = "CVAT for images 1.1"
ENV_TOKEN, ENV_USER, ENV_PASSWORD = "CVAT_ACCESS_TOKEN", "CVAT_USER", "CVAT_PASSWORD"
SCHEMA_VERSION = 1
CONNECT_TIMEOUT_S = 10.0  # pre-flight TCP connect: fail fast instead of urllib3's unbounded default
LEGACY_EVENTS_WAIT_S = 600.0  # the old query_id exchange has no failed state: stop waiting at some point
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
# what can be pulled: the flag's kind -> the URL of its page in CVAT's UI (where the id is read from)
KINDS = {"task": "/tasks/<id>", "project": "/projects/<id>", "job": "/tasks/<task>/jobs/<id>"}


class CvatPullError(Exception):
    """A user-facing error (printed without traceback by the CLI); its text never holds a credential."""

    user_error = True


@dataclass
class Credential:
    source: str  # where it came from, for messages: an env var name or "~/.netrc (machine HOST)"; never a value
    token: str | None = field(default=None, repr=False)
    user: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)

    def redactor(self) -> Redactor:
        return Redactor(self.token, self.password, self.user)


def find_credential(url: str, environ: dict | None = None) -> Credential:
    """The first credential found: env token, env user + password, then netrc for the URL's host."""
    env = os.environ if environ is None else environ
    if env.get(ENV_TOKEN):
        return Credential(source=f"${ENV_TOKEN}", token=env[ENV_TOKEN])
    if env.get(ENV_USER) or env.get(ENV_PASSWORD):
        if not (env.get(ENV_USER) and env.get(ENV_PASSWORD)):
            missing = ENV_PASSWORD if env.get(ENV_USER) else ENV_USER
            raise CvatPullError(f"${ENV_USER} and ${ENV_PASSWORD} go together: ${missing} is not set")
        return Credential(source=f"${ENV_USER}/${ENV_PASSWORD}", user=env[ENV_USER], password=env[ENV_PASSWORD])
    host = urlsplit(url).hostname or ""
    netrc_path = Path(env["NETRC"]) if env.get("NETRC") else Path(env.get("HOME") or Path.home()) / ".netrc"
    if netrc_path.is_file():
        try:
            entry = netrc.netrc(str(netrc_path)).authenticators(host)
        except (netrc.NetrcParseError, OSError) as exc:  # the parse message quotes no token values
            raise CvatPullError(
                f"{netrc_path}: cannot read it ({exc.__class__.__name__}, line "
                f"{getattr(exc, 'lineno', '?')}); fix the file or use ${ENV_TOKEN}"
            ) from None
        if entry and entry[0] and entry[2]:
            return Credential(source=f"{netrc_path} (machine {host})", user=entry[0], password=entry[2])
    raise CvatPullError(
        f"no CVAT credential for {host}: set ${ENV_TOKEN} (a personal access token from CVAT's user menu), "
        f"or ${ENV_USER} and ${ENV_PASSWORD}, or add `machine {host} login USER password PASS` to {netrc_path}"
    )


def _check_url(url: str, timeout_s: float = CONNECT_TIMEOUT_S) -> str:
    parts = urlsplit(url if "://" in url else f"https://{url}")
    if parts.username or parts.password:
        raise CvatPullError(
            "--url must not hold a user name or password; use $CVAT_ACCESS_TOKEN, $CVAT_USER/$CVAT_PASSWORD or ~/.netrc"
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CvatPullError(f"--url {url!r}: expected http(s)://HOST[:PORT], e.g. https://app.cvat.ai")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:  # urllib: "Port out of range 0-65535" or not a number
        raise CvatPullError(
            f"--url {url!r}: the port must be a number from 1 to 65535, e.g. http://localhost:8080"
        ) from None
    try:
        socket.create_connection((parts.hostname, port), timeout=min(timeout_s, CONNECT_TIMEOUT_S)).close()
    except OSError as exc:
        raise CvatPullError(
            f"cannot reach CVAT at {parts.scheme}://{parts.netloc} ({exc.__class__.__name__}: "
            f"{exc.strerror or exc}); check the URL, the port and that the server is up"
        ) from None
    if parts.scheme == "http" and parts.hostname not in LOCAL_HOSTS:
        print(f"warning: {parts.netloc} is plain http: the credential travels unencrypted", file=sys.stderr)
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def _status(exc) -> int | None:
    return getattr(exc, "status", None)


def _connect(url: str, cred: Credential, poll_s: float, redact: Redactor, timeout_s: float, retries: int):
    # deferred: cvat_sdk is heavy
    from cvat_sdk.api_client import exceptions

    # deferred: cvat_sdk is heavy
    from cvat_sdk.core.client import AccessTokenCredentials, Client, Config, PasswordCredentials

    order = (
        f"sources are tried in order, the first one set is used: ${ENV_TOKEN}, ${ENV_USER}/${ENV_PASSWORD}, ~/.netrc"
    )
    try:
        # the version check is the first request: it waits until every request is bounded
        client = Client(url, config=Config(status_check_period=poll_s), check_server_version=False)
        bound_requests(client, timeout_s, retries)
        client.check_server_version()
        if cred.token:
            client.login(AccessTokenCredentials(cred.token))
        else:
            client.login(PasswordCredentials(cred.user, cred.password))
        redact.add_client(client)  # the session cookie and CSRF token are credentials too
        client.api_client.users_api.retrieve_self()  # a token is only checked by its first use
    except NoAnswer:
        raise
    except exceptions.ApiException as exc:
        if _status(exc) in (400, 401, 403):
            raise CvatPullError(
                f"CVAT at {url} refused the credential from {cred.source} (HTTP {exc.status}); "
                f"check it or create a new access token; {order}"
            ) from None
        raise CvatPullError(f"CVAT at {url} answered HTTP {exc.status} ({redact(exc.reason)}) on login") from None
    except AssertionError:  # the sdk asserts sessionid/csrftoken cookies after a password login
        raise CvatPullError(f"{url}: the login answer had no session cookie; is this a CVAT server?") from None
    except Exception as exc:  # urllib3 / ssl / json errors: name the kind only, their text may echo headers
        raise CvatPullError(f"cannot talk to CVAT at {url} ({exc.__class__.__name__}); check the URL") from None
    return client


def _download_events(client, kind: str, obj_id: int, dest: Path, poll_s: float) -> None:
    # deferred: cvat_sdk is heavy
    from cvat_sdk.api_client import exceptions

    # deferred: cvat_sdk is heavy
    from cvat_sdk.core.downloading import Downloader

    # deferred: cvat_sdk is heavy
    from cvat_sdk.core.exceptions import BackgroundRequestException

    downloader = Downloader(client)
    try:
        rq = downloader.prepare_file(
            client.api_client.events_api.create_export_endpoint,
            query_params={f"{kind}_id": obj_id},
            status_check_period=poll_s,
        )
        downloader.download_file(rq.result_url, dest)
        return
    except exceptions.ApiException as exc:
        if _status(exc) not in (404, 405):
            raise
    # Servers before the requests API: GET /api/events answers 202 {query_id}, then 201 when ready, then the CSV
    # with action=download (cvat/apps/events/views.py in CVAT 2.x).
    api = client.api_client.events_api
    where = {f"{kind}_id": obj_id}
    _, resp = api.list(**where, _parse_response=False)
    query_id = json.loads(resp.data)["query_id"]
    deadline = time.monotonic() + LEGACY_EVENTS_WAIT_S
    while resp.status != 201:
        if time.monotonic() > deadline:
            raise BackgroundRequestException(f"events export not ready after {LEGACY_EVENTS_WAIT_S:g} s")
        time.sleep(poll_s)
        _, resp = api.list(**where, query_id=query_id, _parse_response=False)
    _, resp = api.list(**where, query_id=query_id, action="download", _parse_response=False)
    dest.write_bytes(resp.data)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def pull(
    url: str,
    task_id: int,
    out_dir: Path,
    *,
    credential: Credential | None = None,
    events: bool = True,
    poll_s: float = 2.0,
    progress: bool = True,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    retries: int = DEFAULT_RETRIES,
    kind: str = "task",
) -> dict:
    """Download the task (or `kind` project or job) `task_id` from `url` into `out_dir`; returns what `pull.json`
    holds. Each request waits at most `timeout_s` for the server and is tried `retries` more times; every message is
    redacted."""
    if kind not in KINDS:
        raise CvatPullError(f"cannot pull a {kind!r}; one of: {', '.join(KINDS)}")
    if not timeout_s > 0 or retries < 0:
        raise CvatPullError(f"--timeout-s {timeout_s!r} must be > 0 and --retries {retries!r} >= 0")
    url = _check_url(url, timeout_s)
    cred = credential or find_credential(url)
    redact = cred.redactor()
    with redacted_logs(redact):
        try:
            target = (kind, task_id)
            return _pull(url, target, Path(out_dir), cred, redact, events, poll_s, progress, timeout_s, retries)
        except (CvatPullError, NoAnswer) as exc:
            raise CvatPullError(redact(str(exc))) from None


def _describe(kind: str, obj) -> tuple[str, int | None, dict]:
    """(name, frame count, ids of what holds it) of a retrieved task, project or job (a job has no name)."""
    if kind == "task":
        return obj.name, obj.size, {"project_id": obj.project_id}
    if kind == "project":
        return obj.name, None, {}  # a project's frames are its tasks': the export's <image> count says it
    task = getattr(obj, "task_id", None)
    return f"job {obj.id} of task {task}", obj.frame_count, {"task_id": task, "project_id": obj.project_id}


def _pull(url, target, out_dir, cred, redact, events, poll_s, progress, timeout_s, retries) -> dict:
    # deferred: urllib3 is heavy
    import urllib3

    # deferred: cvat_sdk is heavy
    from cvat_sdk.api_client import exceptions

    # deferred: cvat_sdk is heavy
    from cvat_sdk.core.exceptions import BackgroundRequestException

    # deferred: cvat_sdk is heavy
    from cvat_sdk.core.helpers import DeferredTqdmProgressReporter

    # deferred: cvat_sdk is heavy
    from cvat_sdk.version import VERSION

    kind, obj_id = target
    client = _connect(url, cred, poll_s, redact, timeout_s, retries)
    out_dir.mkdir(parents=True, exist_ok=True)
    zip_name, csv_name = export_names(kind, obj_id)
    tmp = Path(tempfile.mkdtemp(prefix=".pull-", dir=out_dir))  # same file system: os.replace is atomic
    step = f"reading the {kind}"
    try:
        with client:
            obj = {"task": client.tasks, "project": client.projects, "job": client.jobs}[kind].retrieve(obj_id)
            name, frame_count, parents = _describe(kind, obj)
            labels = [lab.name for lab in obj.get_labels()]
            step = f"exporting {EXPORT_FORMAT} with images"
            pbar = DeferredTqdmProgressReporter({"file": sys.stderr, "disable": not progress, "leave": False})
            obj.export_dataset(
                EXPORT_FORMAT, tmp / zip_name, include_images=True, pbar=pbar, status_check_period=poll_s
            )
            events_note = {"status": "skipped"}
            if events:
                step = "exporting the analytics events"
                try:
                    _download_events(client, kind, obj_id, tmp / csv_name, poll_s)
                    events_note = {"status": "ok"}
                except (exceptions.ApiException, BackgroundRequestException, NoAnswer) as exc:
                    # a failure here is data (the annotations are still good): note it, tell the user
                    reason = f"HTTP {exc.status}" if _status(exc) else redact(str(exc))[:300]
                    hint = " (the account needs analytics access)" if _status(exc) == 403 else ""
                    events_note = {"status": "error", "reason": reason + hint}
                    print(
                        f"warning: events export failed: {reason}{hint}; labeling time will be rough", file=sys.stderr
                    )
        if events_note["status"] != "ok":  # an older pull's CSV would not match this pull.json
            (out_dir / csv_name).unlink(missing_ok=True)
        for f in tmp.iterdir():
            f.replace(out_dir / f.name)
    except exceptions.ApiException as exc:
        if _status(exc) == 404 and step == f"reading the {kind}":
            raise CvatPullError(
                f"{kind} {obj_id} not found on {url} (HTTP 404): the id is the number in the "
                f"{kind}'s page URL, {url}{KINDS[kind]}; the account must see it"
            ) from None
        if _status(exc) == 403:
            raise CvatPullError(
                f"{step}: {cred.source}'s account may not access {kind} {obj_id} on {url} "
                f"(HTTP 403); ask the {kind}'s owner for access"
            ) from None
        raise CvatPullError(f"{step} for {kind} {obj_id} failed: HTTP {exc.status} ({redact(exc.reason)})") from None
    except BackgroundRequestException as exc:
        raise CvatPullError(
            f"{step}: the server's job failed: {redact(str(exc))[:500]}; "
            "retry, or check the task in CVAT's UI (Actions > Export task dataset)"
        ) from None
    except urllib3.exceptions.HTTPError as exc:  # connection lost mid-way; the name only, the text may echo headers
        raise CvatPullError(
            f"{step} for {kind} {obj_id}: connection to {url} failed ({exc.__class__.__name__})"
        ) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    files = [zip_name] + ([csv_name] if events_note["status"] == "ok" else [])
    record = {
        "schema_version": SCHEMA_VERSION,
        "url": url,
        "kind": kind,  # what was pulled: task, project or job
        f"{kind}_id": obj_id,
        **{k: v for k, v in parents.items() if v is not None},  # a job's task and project, a task's project
        f"{kind}_name": name,
        "labels": labels,
        "frame_count": frame_count,
        "formats": {"annotations": EXPORT_FORMAT, "images_included": True, "events": "CVAT analytics events CSV"},
        "pulled_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "cvat_sdk_version": VERSION,
        "credential_source": cred.source,  # the kind only (env var name or netrc path), never a value
        "events": events_note,
        "files": [{"path": n, "bytes": (out_dir / n).stat().st_size, "sha256": _sha256(out_dir / n)} for n in files],
    }
    (out_dir / "pull.json").write_text(json.dumps(record, indent=2) + "\n")
    return record


def export_names(kind: str, obj_id: int) -> tuple[str, str]:
    """(annotation zip, events CSV) file names of one pull: task_7_cvat_for_images.zip, events_task_7.csv."""
    return f"{kind}_{obj_id}_cvat_for_images.zip", f"events_{kind}_{obj_id}.csv"


def _size(n: int) -> str:
    return f"{n / 2**20:.1f} MiB" if n >= 2**20 else f"{n / 2**10:.1f} KiB"


def next_steps(out_dir: Path, record: dict) -> str:
    out = Path(out_dir)
    zip_path = out / record["files"][0]["path"]
    kind = record.get("kind", "task")
    frames = "" if record.get("frame_count") is None else f"{record['frame_count']} frames, "
    lines = [
        f'pulled {kind} {record[f"{kind}_id"]} "{record[f"{kind}_name"]}" from {record["url"]}: {frames}'
        f"labels: {', '.join(record['labels']) or '(none)'}",
    ]
    lines += [f"  {out / f['path']}  {_size(f['bytes'])}  sha256 {f['sha256'][:12]}" for f in record["files"]]
    lines += [f"  {out / 'pull.json'}", "", "next steps:", f"  check it:       clsdet data inspect {zip_path}"]
    if record["events"]["status"] == "ok":
        csv_path = out / export_names(kind, record[f"{kind}_id"])[1]
        lines.append(f"  labeling time:  clsdet label import-cvat {csv_path} --annotations {zip_path} --dataset NAME")
    else:
        lines.append(f"  labeling time:  clsdet label import-cvat --annotations {zip_path} --dataset NAME  (rough)")
    lines += [
        "                  (NAME: the benchmark config's `name`; the harness matches labeling logs by it)",
        "  benchmark config (clsdet.yaml), a source (path relative to the config's folder):",
        "    sources:",
        f"      cvat: {{reader: cvat_xml, path: {zip_path}}}",
    ]
    return "\n".join(lines)
