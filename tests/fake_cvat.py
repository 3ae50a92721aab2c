"""A small CVAT server for `clsdet cvat pull` tests: stdlib http.server on 127.0.0.1, a random port, in a thread.

It answers the endpoints cvat-sdk 2.80 calls, with the fields its models require (cvat_sdk/api_client/model/*.py):
`GET /api/server/about` (AboutSerializer: name, description, version, logo_url, subtitle), `POST /api/auth/login`
(Token + `sessionid`/`csrftoken` cookies, as CVAT's dj-rest-auth login does), `GET /api/users/self`,
`GET /api/tasks/{id}` (TaskRead: jobs, labels summaries), `GET /api/labels?task_id=` (PaginatedLabelList),
`POST /api/tasks/{id}/dataset/export?format=&save_images=` and `POST /api/events/export?task_id=` (202 {rq_id}),
`GET /api/requests/{rq_id}` (Request: status, id, operation, created_date; result_url when finished) and the result
URLs (zip / CSV bytes). Projects and jobs likewise: `GET /api/projects/{id}` (ProjectRead: tasks, labels summaries),
`GET /api/jobs/{id}` (JobRead: issues, labels summaries), their `dataset/export`, labels and events by
`project_id=` / `job_id=`. Auth: `Authorization: Bearer <token>` or the login's session cookie, else 401 as CVAT
answers.
Every request is kept in `requests` (method, path) so tests can see what the sdk called.
"""

from __future__ import annotations

import csv
import io
import json
import threading
import uuid
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from PIL import Image

NOW = "2025-03-01T09:00:00.000000Z"
LABELS = ["cat", "dog"]
IMAGES = {"frame_000000.png": (32, 24), "frame_000001.png": (40, 30), "frame_000002.png": (24, 24)}
EVENT_COLUMNS = (
    "scope",
    "obj_name",
    "obj_id",
    "obj_val",
    "source",
    "timestamp",
    "count",
    "duration",
    "project_id",
    "task_id",
    "job_id",
    "user_id",
    "user_name",
    "user_email",
    "org_id",
    "org_slug",
    "payload",
)


def annotations_xml(task_id: int, name: str) -> str:
    """CVAT for images 1.1, task export: <meta><task> with labels, one <image> per frame, boxes and a tag."""
    labels = "".join(
        f"<label><name>{n}</name><color>#aa0000</color><type>any</type><attributes/></label>" for n in LABELS
    )
    shapes = {
        0: '<box label="cat" source="manual" occluded="0" xtl="2.0" ytl="3.0" xbr="20.5" ybr="15.0" z_order="0"/>',
        1: '<box label="dog" source="manual" occluded="0" xtl="1.0" ytl="1.0" xbr="30.0" ybr="25.0" z_order="0"/>'
        '<box label="cat" source="manual" occluded="1" xtl="5.0" ytl="5.0" xbr="9.0" ybr="9.0" z_order="0"/>',
        2: '<tag label="dog" source="manual"/>',
    }
    images = "".join(
        f'<image id="{i}" name="{n}" width="{w}" height="{h}">{shapes[i]}</image>'
        for i, (n, (w, h)) in enumerate(IMAGES.items())
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<annotations><version>1.1</version><meta><task>'
        f"<id>{task_id}</id><name>{name}</name><size>{len(IMAGES)}</size><mode>annotation</mode><overlap>0</overlap>"
        f"<created>2025-03-01 09:00:00.000000+00:00</created><updated>2025-03-01 09:30:00.000000+00:00</updated>"
        f"<labels>{labels}</labels></task><dumped>2025-03-01 10:00:00.000000+00:00</dumped></meta>"
        f"{images}</annotations>\n"
    )


def export_zip(task_id: int, name: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("annotations.xml", annotations_xml(task_id, name))
        for i, (n, size) in enumerate(IMAGES.items()):
            png = io.BytesIO()
            Image.new("RGB", size, (40 * i, 120, 200)).save(png, format="PNG")
            zf.writestr(f"images/{n}", png.getvalue())
    return buf.getvalue()


def events_csv(task_id: int) -> bytes:
    """Client events of one annotator on job 1 (gaps under 100 s count in CVAT's rule) plus the server's
    `send:working_time` row."""
    rows = [
        ("load:job", "2025-03-01T09:00:00.000Z", 0, "{}"),
        ("draw:object", "2025-03-01T09:00:20.000Z", 0, "{}"),
        ("change:frame", "2025-03-01T09:00:30.000Z", 2000, '{"from": 0, "to": 1, "step": 1}'),
        ("draw:object", "2025-03-01T09:01:00.000Z", 0, "{}"),
        ("save:job", "2025-03-01T09:01:10.000Z", 0, "{}"),
    ]
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(EVENT_COLUMNS)
    for scope, ts, dur, payload in rows:
        w.writerow(
            [scope, "", "", "", "client", ts, 1, dur, "", task_id, 1, 7, "alice", "alice@example.com", "", "", payload]
        )
    w.writerow(
        [
            "send:working_time",
            "",
            "",
            "",
            "server",
            "2025-03-01T09:01:10.500Z",
            1,
            72000,
            "",
            task_id,
            1,
            7,
            "alice",
            "alice@example.com",
            "",
            "",
            '{"working_time": 72000, "job_id": 1}',
        ]
    )
    return buf.getvalue().encode()


class FakeCvat:
    """`with FakeCvat(token=..., user=..., password=...) as cvat:` -> cvat.url; tasks {id: name}."""

    def __init__(
        self,
        token="",
        user="",
        password="",
        tasks=None,
        fail_export=False,
        events_api="new",
        events_forbidden=False,
        echo_auth=False,
        projects=None,
        jobs=None,
    ):
        self.token, self.user, self.password = token, user, password
        # a careless server or proxy: answers task requests with 500, the request's credentials in the reason
        # phrase and the body, as debugging middleware sometimes does
        self.echo_auth = echo_auth
        self.tasks = tasks if tasks is not None else {7: "street scenes"}
        self.projects = projects if projects is not None else {3: "city"}  # {id: name}; every task is in it
        self.jobs = jobs if jobs is not None else {11: 7}  # {job id: its task id}
        self.fail_export = fail_export
        self.events_forbidden = events_forbidden  # CVAT answers 403 to accounts without analytics access
        self.events_api = events_api  # "new": POST /api/events/export; "legacy": GET /api/events query_id dance
        self.sessions: set[str] = set()
        self.rqs: dict[str, dict] = {}
        self.requests: list[tuple[str, str]] = []
        self.headers_seen: list[dict] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    # --- helpers used by the handler ---
    def authed(self, headers) -> bool:
        auth = headers.get("Authorization", "")
        if self.token and auth == f"Bearer {self.token}":
            return True
        cookies = dict(c.strip().split("=", 1) for c in headers.get("Cookie", "").split(";") if "=" in c)
        return cookies.get("sessionid") in self.sessions

    def new_rq(self, kind: str, task_id: int, fmt: str | None, target: str = "task") -> str:
        rq_id = f"{kind}:{target}-{task_id}-{uuid.uuid4().hex[:8]}"
        self.rqs[rq_id] = {"kind": kind, "task_id": task_id, "format": fmt, "polls": 0, "target": target}
        return rq_id

    def name_of(self, rq: dict) -> str:
        kind, obj_id = rq["target"], rq["task_id"]
        return {"task": self.tasks, "project": self.projects}.get(kind, {}).get(obj_id, f"{kind} {obj_id}")

    def request_json(self, rq_id: str) -> dict:
        rq = self.rqs[rq_id]
        rq["polls"] += 1
        status, result_url, message = "started", None, ""
        if rq["polls"] >= 2:  # one "started" first, so the client's polling loop runs
            if self.fail_export and rq["kind"] == "export":
                status, message = "failed", "Export failed: disk quota exceeded"
            else:
                status = "finished"
                result_url = f"{self.url}/api/results/{rq_id}"
        return {
            "status": status,
            "message": message,
            "id": rq_id,
            "progress": 1.0 if status == "finished" else 0.5,
            "operation": {
                "type": f"{rq['kind']}:dataset" if rq["kind"] == "export" else "export:events",
                "target": rq["target"] if rq["kind"] == "export" else "events",
                "project_id": rq["task_id"] if rq["target"] == "project" else None,
                "task_id": rq["task_id"] if rq["target"] == "task" else None,
                "job_id": rq["task_id"] if rq["target"] == "job" else None,
                "format": rq["format"],
                "function_id": None,
            },
            "created_date": NOW,
            "started_date": NOW,
            "finished_date": NOW if status == "finished" else None,
            "expiry_date": None,
            "owner": {"id": 1, "username": "admin"},
            "result_url": result_url,
            "result_id": None,
        }

    def task_json(self, task_id: int) -> dict:
        base = f"{self.url}/api"
        return {
            "url": f"{base}/tasks/{task_id}",
            "id": task_id,
            "name": self.tasks[task_id],
            "project_id": None,
            "mode": "annotation",
            "owner": {"url": f"{base}/users/1", "id": 1, "username": "admin", "first_name": "", "last_name": ""},
            "assignee": None,
            "bug_tracker": "",
            "created_date": NOW,
            "updated_date": NOW,
            "overlap": 0,
            "segment_size": len(IMAGES),
            "status": "annotation",
            "data_chunk_size": 72,
            "data_compressed_chunk_type": "imageset",
            "guide_id": None,
            "data_original_chunk_type": "imageset",
            "size": len(IMAGES),
            "image_quality": 70,
            "data": 3,
            "subset": "",
            "organization": None,
            "target_storage": None,
            "source_storage": None,
            "jobs": {"count": 1, "completed": 0, "validation": 0, "url": f"{base}/jobs?task_id={task_id}"},
            "labels": {"url": f"{base}/labels?task_id={task_id}"},
            "assignee_updated_date": None,
            "dimension": "2d",
            "validation_mode": None,
        }

    def project_json(self, project_id: int) -> dict:
        base = f"{self.url}/api"
        return {
            "url": f"{base}/projects/{project_id}",
            "id": project_id,
            "name": self.projects[project_id],
            "owner": {"url": f"{base}/users/1", "id": 1, "username": "admin", "first_name": "", "last_name": ""},
            "assignee": None,
            "guide_id": None,
            "bug_tracker": "",
            "task_subsets": [],
            "created_date": NOW,
            "updated_date": NOW,
            "status": "annotation",
            "dimension": "2d",
            "organization": None,
            "target_storage": None,
            "source_storage": None,
            "assignee_updated_date": None,
            "tasks": {"count": len(self.tasks), "url": f"{base}/tasks?project_id={project_id}"},
            "labels": {"url": f"{base}/labels?project_id={project_id}"},
        }

    def job_json(self, job_id: int) -> dict:
        base, task_id = f"{self.url}/api", self.jobs[job_id]
        return {
            "url": f"{base}/jobs/{job_id}",
            "id": job_id,
            "task_id": task_id,
            "task_name": self.tasks.get(task_id),
            "project_id": next(iter(self.projects), None),
            "assignee": None,
            "dimension": "2d",
            "mode": "annotation",
            "status": "annotation",
            "stage": "annotation",
            "state": "new",
            "frame_count": len(IMAGES) - 1,  # the task's first two frames: a job is a segment of its task
            "start_frame": 0,
            "stop_frame": len(IMAGES) - 2,
            "created_date": NOW,
            "updated_date": NOW,
            "type": "annotation",
            "organization": None,
            "target_storage": None,
            "source_storage": None,
            "issues": {"count": 0, "url": f"{base}/issues?job_id={job_id}"},
            "labels": {"url": f"{base}/labels?job_id={job_id}"},
        }

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall

            def log_message(self, *args):  # quiet: tests read `fake.requests`
                pass

            def _send(self, code, body=b"", ctype="application/json", extra=()):
                if isinstance(body, (dict, list)):
                    body = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for k, v in extra:
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def _body(self) -> bytes:
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n) if n else b""

            def do_GET(self):
                self._route("GET")

            def do_POST(self):
                self._route("POST")

            def _route(self, method):  # noqa: C901 - one flat dispatch table reads best in a fake
                parts = urlsplit(self.path)
                path, q = unquote(parts.path).rstrip("/"), {k: v[-1] for k, v in parse_qs(parts.query).items()}
                body = self._body()
                fake.requests.append((method, self.path))
                fake.headers_seen.append(dict(self.headers))
                if path == "/api/server/about":
                    return self._send(
                        200,
                        {
                            "name": "Computer Vision Annotation Tool",
                            "description": "fake",
                            "version": "2.80.0",
                            "logo_url": "",
                            "subtitle": "",
                        },
                    )
                if path == "/api/auth/login" and method == "POST":
                    data = json.loads(body or b"{}")
                    if not fake.user or data.get("username") != fake.user or data.get("password") != fake.password:
                        # CVAT (dj-rest-auth) answers a bad login with 400 and this text
                        return self._send(400, {"non_field_errors": ["Unable to log in with provided credentials."]})
                    sid = uuid.uuid4().hex
                    fake.sessions.add(sid)
                    cookies = (
                        ("Set-Cookie", f"sessionid={sid}; HttpOnly; Path=/"),
                        ("Set-Cookie", f"csrftoken={uuid.uuid4().hex}; Path=/"),
                    )
                    return self._send(200, {"key": uuid.uuid4().hex}, extra=cookies)
                if not fake.authed(self.headers):
                    return self._send(401, {"detail": "Authentication credentials were not provided."})
                if path == "/api/users/self":
                    return self._send(
                        200,
                        {
                            "url": f"{fake.url}/api/users/1",
                            "id": 1,
                            "username": "admin",
                            "first_name": "",
                            "last_name": "",
                            "email": "",
                            "groups": ["admin"],
                            "is_staff": True,
                            "is_superuser": True,
                            "is_active": True,
                            "last_login": NOW,
                            "date_joined": NOW,
                            "has_analytics_access": True,
                        },
                    )
                segs = path.split("/")
                if fake.echo_auth and len(segs) >= 4 and segs[2] == "tasks":
                    seen = f"Authorization: {self.headers.get('Authorization')} Cookie: {self.headers.get('Cookie')}"
                    body = json.dumps({"detail": "internal error", "request_headers": dict(self.headers)}).encode()
                    self.send_response(500, f"Internal error; the request had {seen}")
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    return self.wfile.write(body)
                if len(segs) >= 4 and segs[2] == "tasks":
                    task_id = int(segs[3])
                    if task_id not in fake.tasks:
                        return self._send(404, {"detail": "Not found."})
                    if len(segs) == 4 and method == "GET":
                        return self._send(200, fake.task_json(task_id))
                    if segs[4:] == ["dataset", "export"] and method == "POST":
                        return self._send(202, {"rq_id": fake.new_rq("export", task_id, q.get("format"))})
                for kind, known, json_of in (
                    ("projects", fake.projects, fake.project_json),
                    ("jobs", fake.jobs, fake.job_json),
                ):
                    if len(segs) >= 4 and segs[2] == kind:
                        obj_id = int(segs[3])
                        if obj_id not in known:
                            return self._send(404, {"detail": "Not found."})
                        if len(segs) == 4 and method == "GET":
                            return self._send(200, json_of(obj_id))
                        if segs[4:] == ["dataset", "export"] and method == "POST":
                            rq = fake.new_rq("export", obj_id, q.get("format"), kind.removesuffix("s"))
                            return self._send(202, {"rq_id": rq})
                if path == "/api/labels" and method == "GET":
                    task_id = int(q.get("task_id", -1))
                    results = [
                        {
                            "id": i + 1,
                            "name": n,
                            "color": "#aa0000",
                            "attributes": [],
                            "type": "any",
                            "sublabels": [],
                            "task_id": task_id,
                            "project_id": None,
                            "parent_id": None,
                            "has_parent": False,
                            "svg": "",
                        }
                        for i, n in enumerate(LABELS)
                    ]
                    return self._send(200, {"count": len(results), "next": None, "previous": None, "results": results})
                if path.startswith("/api/events") and fake.events_forbidden:
                    return self._send(403, {"detail": "You do not have permission to perform this action."})
                if path == "/api/events/export" and method == "POST" and fake.events_api == "new":
                    (key,) = [k for k in ("task_id", "project_id", "job_id") if k in q]  # one filter per pull
                    rq = fake.new_rq("events", int(q[key]), None, key.removesuffix("_id"))
                    return self._send(202, {"rq_id": rq})
                if path.startswith("/api/requests/"):
                    rq_id = path.removeprefix("/api/requests/")
                    if rq_id not in fake.rqs:
                        return self._send(404, {"detail": "Not found."})
                    return self._send(200, fake.request_json(rq_id))
                if path.startswith("/api/results/"):
                    rq = fake.rqs[path.removeprefix("/api/results/")]
                    if rq["kind"] == "export":
                        return self._send(200, export_zip(rq["task_id"], fake.name_of(rq)), "application/zip")
                    return self._send(200, events_csv(rq["task_id"]), "text/csv")
                if path == "/api/events" and method == "GET" and fake.events_api == "legacy":
                    if "query_id" not in q:
                        return self._send(202, {"query_id": fake.new_rq("events", int(q["task_id"]), None)})
                    if q.get("action") == "download":
                        return self._send(200, events_csv(int(q["task_id"])), "text/csv")
                    return self._send(201, b"")
                return self._send(404, {"detail": "Not found."})

        return Handler
