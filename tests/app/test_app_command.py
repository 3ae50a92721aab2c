"""`clsdet app` without starting a server: what it would run, and its errors."""

from __future__ import annotations

import json
import sys

from benchmarks.cli import build_parser, main
from benchmarks.commands import app as app_cmd


def test_streamlit_command_is_local_capped_and_passes_options_through(tmp_path):
    args = build_parser().parse_args(["app", str(tmp_path), "--port", "8611", "--theme.base=dark"])
    assert args.extra == ["--theme.base=dark"] and args.port == 8611 and args.host == "127.0.0.1"
    cmd = app_cmd.streamlit_command(tmp_path, args.port, args.host, args.extra)
    assert cmd[:4] == [sys.executable, "-m", "streamlit", "run"] and cmd[4].endswith("benchmarks/app/main.py")
    for opt in (
        "--server.address=127.0.0.1",
        "--server.port=8611",
        "--server.maxUploadSize=20",
        "--server.headless=true",
        "--browser.gatherUsageStats=false",
        "--theme.base=dark",
    ):
        assert opt in cmd
    assert cmd[-2:] == ["--", str(tmp_path)]  # the run folder reaches the script, not streamlit


def test_the_newest_run_is_the_default(tmp_path, monkeypatch, capsys):
    runs = tmp_path / "runs"
    (runs / "r1").mkdir(parents=True)
    (runs / "r1" / "results.json").write_text(json.dumps({"schema_version": 2, "models": {}}))
    called = {}
    monkeypatch.setattr(app_cmd, "_run_child", lambda cmd: called.setdefault("cmd", cmd) and 0)
    assert main(["app", "--runs", str(runs), "--host", "0.0.0.0"]) == 0
    out = capsys.readouterr().out
    assert f"run: {runs / 'r1'}" in out and "open http://0.0.0.0:8501" in out
    assert "--server.address=0.0.0.0" in called["cmd"] and called["cmd"][-1] == str(runs / "r1")


def test_errors_name_the_fix(tmp_path, capsys):
    assert main(["app", "--runs", str(tmp_path)]) == 2
    assert "no finished run under" in capsys.readouterr().err
    assert main(["app", str(tmp_path / "nope")]) == 2
    assert "results.json not found" in capsys.readouterr().err


def test_streamlit_options_in_both_forms_and_the_run_folder_stays_positional(tmp_path):
    parse = build_parser().parse_args
    spaced = parse(["app", "--server.headless", "true", str(tmp_path), "--theme.base", "dark", "--port", "8612"])
    joined = parse(["app", "--server.headless=true", str(tmp_path), "--theme.base=dark", "--port", "8612"])
    # the value after a dotted option is that option's, not the run folder (argparse alone took `true` as RUN_DIR)
    assert spaced.run_dir == joined.run_dir == str(tmp_path)
    assert spaced.extra == joined.extra == ["--server.headless=true", "--theme.base=dark"]
    assert spaced.port == 8612
    # a dotted option at the end, or before another option, has no value to join: passed as written
    assert parse(["app", str(tmp_path), "--server.runOnSave", "--port", "1"]).extra == ["--server.runOnSave"]


def test_without_the_app_extra_the_error_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "streamlit" else real(name, *a))
    (tmp_path / "results.json").write_text(json.dumps({"schema_version": 2, "models": {}}))
    assert main(["app", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "clsdet app needs streamlit, not installed here" in err and "clsdet-bench[app]" in err
