"""`clsdet cvat pull` against a fake CVAT on 127.0.0.1 (fake_cvat.py): each credential source, the errors, the files,
and that no credential ever shows up in the output folder, stdout/stderr or log records."""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import socket
import sys
from pathlib import Path

import pytest

from benchmarks.cli import main

sys.path.insert(0, str(Path(__file__).parents[1]))  # tests/: fake_pipeline.py, fake_cvat.py
from fake_cvat import EVENT_COLUMNS, FakeCvat  # noqa: E402

TOKEN = "tok-5ecret-Zq81"
USER, PASSWORD = "annotator7", "pw-5ecret-Xy42"
TASK = 7
ZIP, EVENTS = f"task_{TASK}_cvat_for_images.zip", f"events_task_{TASK}.csv"


@pytest.fixture
def env(tmp_path, monkeypatch, caplog):
    """No credential from the developer's machine: CVAT_* and NETRC unset, HOME an empty folder."""
    for name in ("CVAT_ACCESS_TOKEN", "CVAT_USER", "CVAT_PASSWORD", "NETRC"):
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    caplog.set_level(logging.DEBUG)
    return home


def pull(fake, out, *extra):
    return main(["cvat", "pull", "--url", fake.url, "--task-id", str(TASK), "--out", str(out), "--poll-s", "0.01",
                 *extra])  # fmt: skip


def assert_no_secret(secrets, out_dir: Path, captured, caplog):
    texts = {"stdout": captured.out, "stderr": captured.err, "log records": caplog.text}
    texts.update({f"record {r.name}": r.getMessage() for r in caplog.records})
    for secret in secrets:
        for where, text in texts.items():
            assert secret not in text, f"credential leaked into {where}"
        for f in out_dir.rglob("*") if out_dir.exists() else []:
            if f.is_file():
                assert secret.encode() not in f.read_bytes(), f"credential leaked into {f}"


def write_netrc(path: Path, host: str, user: str, password: str) -> Path:
    path.write_text(
        f"machine other.example.org login x password y\nmachine {host}\n  login {user}\n  password {password}\n"
    )
    path.chmod(0o600)
    return path


def check_pulled(out: Path, fake, source: str) -> dict:
    record = json.loads((out / "pull.json").read_text())
    assert record["task_id"] == TASK and record["task_name"] == "street scenes"
    assert record["labels"] == ["cat", "dog"] and record["frame_count"] == 3
    assert record["url"] == fake.url and record["credential_source"] == source
    assert record["formats"]["annotations"] == "CVAT for images 1.1" and record["events"] == {"status": "ok"}
    assert [f["path"] for f in record["files"]] == [ZIP, EVENTS]
    for f in record["files"]:
        assert f["sha256"] == hashlib.sha256((out / f["path"]).read_bytes()).hexdigest()
    assert sorted(p.name for p in out.iterdir()) == sorted([ZIP, EVENTS, "pull.json"])  # no temp folder left
    export = [p for m, p in fake.requests if m == "POST" and "/dataset/export" in p]
    assert export == [f"/api/tasks/{TASK}/dataset/export?format=CVAT+for+images+1.1&save_images=True"]
    with open(out / EVENTS, newline="") as fh:
        assert tuple(next(csv.reader(fh))) == EVENT_COLUMNS
    return record


def test_pull_with_env_token(env, tmp_path, monkeypatch, capsys, caplog):
    monkeypatch.setenv("CVAT_ACCESS_TOKEN", TOKEN)
    out = tmp_path / "pulled"
    with FakeCvat(token=TOKEN) as fake:
        assert pull(fake, out) == 0
    check_pulled(out, fake, "$CVAT_ACCESS_TOKEN")
    assert all(h.get("Authorization") == f"Bearer {TOKEN}" for h in fake.headers_seen[1:])  # after /server/about
    captured = capsys.readouterr()
    assert f"clsdet label import-cvat {out / EVENTS} --annotations {out / ZIP} --dataset NAME" in captured.out
    assert f"cvat: {{reader: cvat_xml, path: {out / ZIP}}}" in captured.out
    assert_no_secret([TOKEN], out, captured, caplog)


def test_pull_with_env_user_password(env, tmp_path, monkeypatch, capsys, caplog):
    monkeypatch.setenv("CVAT_USER", USER)
    monkeypatch.setenv("CVAT_PASSWORD", PASSWORD)
    out = tmp_path / "pulled"
    with FakeCvat(user=USER, password=PASSWORD) as fake:
        assert pull(fake, out) == 0
    check_pulled(out, fake, "$CVAT_USER/$CVAT_PASSWORD")
    assert ("POST", "/api/auth/login") in fake.requests
    assert_no_secret([PASSWORD], out, capsys.readouterr(), caplog)


@pytest.mark.parametrize("where", ["HOME", "NETRC"])
def test_pull_with_netrc(where, env, tmp_path, monkeypatch, capsys, caplog):
    path = env / ".netrc" if where == "HOME" else tmp_path / "custom_netrc"
    write_netrc(path, "127.0.0.1", USER, PASSWORD)
    if where == "NETRC":
        monkeypatch.setenv("NETRC", str(path))
    out = tmp_path / "pulled"
    with FakeCvat(user=USER, password=PASSWORD) as fake:
        assert pull(fake, out) == 0
    check_pulled(out, fake, f"{path} (machine 127.0.0.1)")
    assert_no_secret([PASSWORD], out, capsys.readouterr(), caplog)


@pytest.mark.parametrize("source", ["token", "user", "netrc"])
def test_refused_credential_names_its_source(source, env, tmp_path, monkeypatch, capsys, caplog):
    wrong = "wr0ng-5ecret-Qq77"
    if source == "token":
        monkeypatch.setenv("CVAT_ACCESS_TOKEN", wrong)
        expected = "from $CVAT_ACCESS_TOKEN (HTTP 401)"
    elif source == "user":
        monkeypatch.setenv("CVAT_USER", USER)
        monkeypatch.setenv("CVAT_PASSWORD", wrong)
        expected = "from $CVAT_USER/$CVAT_PASSWORD (HTTP 400)"  # CVAT answers a bad login with 400
    else:
        write_netrc(env / ".netrc", "127.0.0.1", USER, wrong)
        expected = f"from {env / '.netrc'} (machine 127.0.0.1) (HTTP 400)"
    out = tmp_path / "pulled"
    with FakeCvat(token=TOKEN, user=USER, password=PASSWORD) as fake:
        assert pull(fake, out) == 2
    captured = capsys.readouterr()
    assert "refused the credential " + expected in captured.err
    assert not (out / "pull.json").exists()
    assert_no_secret([wrong, TOKEN, PASSWORD], out, captured, caplog)


def test_task_not_found(env, tmp_path, monkeypatch, capsys, caplog):
    monkeypatch.setenv("CVAT_ACCESS_TOKEN", TOKEN)
    out = tmp_path / "pulled"
    with FakeCvat(token=TOKEN, tasks={8: "another"}) as fake:
        assert pull(fake, out) == 2
    captured = capsys.readouterr()
    assert f"task {TASK} not found on {fake.url} (HTTP 404)" in captured.err
    assert list(out.iterdir()) == []  # the temp download folder is gone too
    assert_no_secret([TOKEN], out, captured, caplog)


def test_export_failed_on_server(env, tmp_path, monkeypatch, capsys, caplog):
    monkeypatch.setenv("CVAT_ACCESS_TOKEN", TOKEN)
    out = tmp_path / "pulled"
    with FakeCvat(token=TOKEN, fail_export=True) as fake:
        assert pull(fake, out) == 2
    captured = capsys.readouterr()
    assert (
        "exporting CVAT for images 1.1 with images: the server's job failed: Export failed: disk quota" in captured.err
    )
    assert list(out.iterdir()) == []
    assert_no_secret([TOKEN], out, captured, caplog)


def test_unreachable_server(env, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CVAT_ACCESS_TOKEN", TOKEN)
    with socket.socket() as s:  # a port nobody listens on: bind, read it, close
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    rc = main(["cvat", "pull", "--url", f"http://127.0.0.1:{port}", "--task-id", "1", "--out", str(tmp_path / "o")])
    assert rc == 2
    assert f"cannot reach CVAT at http://127.0.0.1:{port}" in capsys.readouterr().err


def test_no_credential_lists_the_sources(env, tmp_path, capsys):
    with FakeCvat(token=TOKEN) as fake:
        assert pull(fake, tmp_path / "o") == 2
    err = capsys.readouterr().err
    for name in ("$CVAT_ACCESS_TOKEN", "$CVAT_USER", "$CVAT_PASSWORD", "machine 127.0.0.1 login USER password PASS"):
        assert name in err
    assert fake.requests == []  # nothing sent without a credential


def test_credentials_in_url_refused_and_not_echoed(env, tmp_path, monkeypatch, capsys, caplog):
    monkeypatch.setenv("CVAT_ACCESS_TOKEN", TOKEN)
    rc = main(["cvat", "pull", "--url", f"http://{USER}:{PASSWORD}@127.0.0.1:9", "--task-id", "1", "--out",
               str(tmp_path / "o")])  # fmt: skip
    assert rc == 2
    captured = capsys.readouterr()
    assert "--url must not hold a user name or password" in captured.err
    assert_no_secret([PASSWORD], tmp_path, captured, caplog)


def test_no_credential_flags_on_the_command_line(capsys):
    with pytest.raises(SystemExit):
        main(["cvat", "pull", "--help"])
    text = capsys.readouterr().out
    assert "--password" not in text and "--token" not in text and "CVAT_ACCESS_TOKEN" in text


def test_legacy_events_api_and_repull_overwrites(env, tmp_path, monkeypatch, capsys):
    """Servers without POST /api/events/export: the GET /api/events query_id exchange; a second pull replaces."""
    monkeypatch.setenv("CVAT_ACCESS_TOKEN", TOKEN)
    out = tmp_path / "pulled"
    with FakeCvat(token=TOKEN, events_api="legacy") as fake:
        assert pull(fake, out) == 0
        assert pull(fake, out) == 0
    record = json.loads((out / "pull.json").read_text())
    assert record["events"] == {"status": "ok"} and (out / EVENTS).stat().st_size > 0
    assert any(p.startswith("/api/events?") and "action=download" in p for _, p in fake.requests)
    assert sorted(p.name for p in out.iterdir()) == sorted([ZIP, EVENTS, "pull.json"])


def test_pulled_files_feed_the_readers(env, tmp_path, monkeypatch, capsys):
    """The zip reads with the project's cvat_xml reader (images inside), the CSV with the labeling importer."""
    from benchmarks.data.inspect import detect_reader, run_inspect
    from benchmarks.labeling.cvat_import import import_cvat

    monkeypatch.setenv("CVAT_ACCESS_TOKEN", TOKEN)
    out = tmp_path / "pulled"
    with FakeCvat(token=TOKEN) as fake:
        assert pull(fake, out, "--no-progress") == 0
    assert detect_reader(out / ZIP) == "cvat_xml"
    _, manifest = run_inspect(out / ZIP, cache_dir=tmp_path / "cache")
    assert manifest.classes == ["cat", "dog"] and len(manifest) == 3
    assert sum(len(b) for r in manifest.images for b in r.boxes.values()) == 3
    assert sorted((r.width, r.height) for r in manifest.images) == [(24, 24), (32, 24), (40, 30)]
    log = import_cvat(out / EVENTS, out / ZIP, dataset="street")
    assert log.n_boxes == 3 and log.active_s == pytest.approx(72.0)  # the server's send:working_time, 72000 ms


def test_events_forbidden_is_a_warning_not_a_failure(env, tmp_path, monkeypatch, capsys):
    """An account without analytics access still gets the annotations; pull.json says why there is no CSV, and a
    CSV from an older pull into the same folder is removed so the folder matches pull.json."""
    monkeypatch.setenv("CVAT_ACCESS_TOKEN", TOKEN)
    out = tmp_path / "pulled"
    out.mkdir()
    (out / EVENTS).write_text("stale\n")
    with FakeCvat(token=TOKEN, events_forbidden=True) as fake:
        assert pull(fake, out) == 0
    captured = capsys.readouterr()
    record = json.loads((out / "pull.json").read_text())
    assert record["events"]["status"] == "error" and "HTTP 403" in record["events"]["reason"]
    assert [f["path"] for f in record["files"]] == [ZIP] and not (out / EVENTS).exists()
    assert "warning: events export failed: HTTP 403" in captured.err
    assert f"clsdet label import-cvat --annotations {out / ZIP}" in captured.out


def test_no_events_flag(env, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CVAT_ACCESS_TOKEN", TOKEN)
    out = tmp_path / "pulled"
    with FakeCvat(token=TOKEN) as fake:
        assert pull(fake, out, "--no-events") == 0
    assert not any("/api/events" in p for _, p in fake.requests)
    assert json.loads((out / "pull.json").read_text())["events"] == {"status": "skipped"}


@pytest.mark.parametrize("auth", ["token", "password"])
def test_echoed_credentials_are_redacted_everywhere(auth, env, tmp_path, monkeypatch, capsys, caplog):
    """The server puts the request's Authorization and Cookie headers in its reason phrase and body: neither our
    error, nor the sdk's log records (its exception text, its debug log of bodies), nor any file may hold them."""
    if auth == "token":
        monkeypatch.setenv("CVAT_ACCESS_TOKEN", TOKEN)
    else:
        monkeypatch.setenv("CVAT_USER", USER)
        monkeypatch.setenv("CVAT_PASSWORD", PASSWORD)
    out = tmp_path / "pulled"
    with FakeCvat(token=TOKEN, user=USER, password=PASSWORD, echo_auth=True) as fake:
        assert pull(fake, out) == 2
    captured = capsys.readouterr()
    assert "reading the task for task 7 failed: HTTP 500 (Internal error; the request had Authorization: ***" in (
        captured.err
    )
    cookies = [h.get("Cookie", "") for h in fake.headers_seen if h.get("Cookie")]
    session_values = [v.split("=", 1)[1] for c in cookies for v in c.split("; ") if "=" in v]
    assert auth == "token" or session_values  # a password login sent session cookies: they must not leak either
    assert_no_secret([TOKEN, PASSWORD, *session_values], out, captured, caplog)


def _silent_server():
    """Accepts connections and reads the request, never answers; returns (port, requests seen, stop)."""
    import threading

    seen, held = [], []
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    srv.settimeout(0.05)
    stop = threading.Event()

    def loop():
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except TimeoutError:
                continue
            held.append(conn)
            conn.settimeout(0.5)
            try:
                data = conn.recv(4096)
            except OSError:
                data = b""
            if data:
                seen.append(data.split(b"\r\n", 1)[0].decode())

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()

    def close():
        stop.set()
        thread.join(timeout=2)
        for c in held:
            c.close()
        srv.close()

    return srv.getsockname()[1], seen, close


def test_server_that_never_answers_ends_in_an_error_naming_the_url(env, tmp_path, monkeypatch, capsys):
    import time

    monkeypatch.setenv("CVAT_ACCESS_TOKEN", TOKEN)
    port, seen, close = _silent_server()
    started = time.monotonic()
    try:
        rc = main(["cvat", "pull", "--url", f"http://127.0.0.1:{port}", "--task-id", "1", "--out", str(tmp_path / "o"),
                   "--timeout-s", "0.3", "--retries", "2"])  # fmt: skip
    finally:
        close()
    elapsed = time.monotonic() - started
    assert rc == 2 and elapsed < 10
    err = capsys.readouterr().err
    assert f"GET http://127.0.0.1:{port}/api/server/about did not answer (no answer within 0.3 s, 3 tries)" in err
    assert seen.count("GET /api/server/about HTTP/1.1") == 3  # bounded: the first try and 2 retries, no more


def test_sdk_log_records_are_redacted_while_pulling(caplog):
    """What the sdk logs (its ApiException text holds response headers and body, e.g. in check_server_version's
    warning) is redacted as the record is made, whatever logger it comes from; outside a pull nothing changes."""
    from types import SimpleNamespace

    from cvat_sdk.api_client.exceptions import ApiException

    from benchmarks.cvat.client import Redactor, redacted_logs

    resp = SimpleNamespace(
        status=500, reason="oops", data=f'{{"key": "login-key-77", "echo": "Bearer {TOKEN}"}}'.encode(),
        headers={"Set-Cookie": "sessionid=sess-1234abcd; HttpOnly", "X-Echo": f"Token {TOKEN}"},
    )  # fmt: skip
    exc = ApiException(http_resp=resp)
    caplog.set_level(logging.DEBUG)
    with redacted_logs(Redactor(TOKEN)):
        logging.getLogger("cvat_sdk.core.client").warning("Failed to retrieve server API version: %s", exc)
        logging.getLogger("urllib3.connectionpool").debug("headers: %s", {"Authorization": f"Bearer {TOKEN}"})
    text = caplog.text
    for secret in (TOKEN, "sess-1234abcd", "login-key-77"):
        assert secret not in text
    assert text.count("***") >= 4 and "Failed to retrieve server API version" in text
    logging.getLogger("cvat_sdk").warning("after: %s", "sessionid=kept")
    assert "sessionid=kept" in caplog.text  # the factory is restored


@pytest.mark.parametrize(
    ("flag", "obj_id", "name", "frames", "parents"),
    [
        ("--project-id", 3, "city", None, {}),
        ("--job-id", 11, "job 11 of task 7", 2, {"task_id": 7, "project_id": 3}),
    ],
)
def test_pull_a_project_or_a_job(flag, obj_id, name, frames, parents, env, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CVAT_ACCESS_TOKEN", TOKEN)
    kind = flag.removeprefix("--").removesuffix("-id")
    out = tmp_path / "pulled"
    with FakeCvat(token=TOKEN) as fake:
        argv = ["cvat", "pull", "--url", fake.url, flag, str(obj_id), "--out", str(out), "--poll-s", "0.01"]
        assert main(argv) == 0
    zip_name, csv_name = f"{kind}_{obj_id}_cvat_for_images.zip", f"events_{kind}_{obj_id}.csv"
    assert sorted(p.name for p in out.iterdir()) == sorted([zip_name, csv_name, "pull.json"])
    record = json.loads((out / "pull.json").read_text())
    assert record["kind"] == kind and record[f"{kind}_id"] == obj_id and record[f"{kind}_name"] == name
    assert record["frame_count"] == frames and record["labels"] == ["cat", "dog"]
    assert {k: record[k] for k in parents} == parents and "task_name" not in record
    posts = [p for m, p in fake.requests if m == "POST" and "export" in p]
    assert posts == [
        f"/api/{kind}s/{obj_id}/dataset/export?format=CVAT+for+images+1.1&save_images=True",
        f"/api/events/export?{kind}_id={obj_id}",
    ]
    assert ("GET", f"/api/{kind}s/{obj_id}") in fake.requests
    text = capsys.readouterr().out
    assert f'pulled {kind} {obj_id} "{name}"' in text and f"clsdet label import-cvat {out / csv_name}" in text


def test_one_of_task_project_or_job(env, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CVAT_ACCESS_TOKEN", TOKEN)
    with FakeCvat(token=TOKEN) as fake:
        base = ["cvat", "pull", "--url", fake.url, "--out", str(tmp_path / "o"), "--poll-s", "0.01"]
        with pytest.raises(SystemExit):
            main([*base, "--task-id", "7", "--job-id", "11"])
        assert "not allowed with argument" in capsys.readouterr().err
        with pytest.raises(SystemExit):
            main(base)
        assert "one of the arguments --task-id --project-id --job-id is required" in capsys.readouterr().err
        assert main([*base, "--job-id", "12"]) == 2
    err = capsys.readouterr().err
    assert "job 12 not found" in err and f"{fake.url}/tasks/<task>/jobs/<id>" in err
