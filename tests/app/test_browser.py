"""A real browser on `clsdet app`: headless Chromium (Debian's package, driven by Playwright) uploads an image and
waits for both models' outputs and saves a screenshot in the test's tmp folder; with CLSDET_UPDATE_SCREENSHOT=1 it
also replaces docs/app_screenshot.png (the README's)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.e2e,  # the second tier (make test-e2e): the app served and driven in headless Chromium
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is absent (apt-get install -y chromium)"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"clsdet app exited with {proc.returncode}: {proc.stdout.read()}")
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"clsdet app did not answer on {url} within {timeout:.0f} s")


def _stop(proc: subprocess.Popen) -> str:
    """Stop the app and its streamlit child (their own process group, started by this test)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
    return proc.stdout.read() if proc.stdout else ""


def test_upload_shows_both_models(run_dir, tmp_path):
    pytest.importorskip("playwright")
    from playwright.sync_api import sync_playwright

    port = _free_port()
    image = next((run_dir / "latency_images").iterdir())
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.cli", "app", str(run_dir), "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # one process group: the test stops streamlit too, also on failure
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            try:
                page = browser.new_page(viewport={"width": 1440, "height": 1500})
                page.goto(url)
                page.get_by_text("Upload images").first.click()
                page.locator("input[type=file]").set_input_files(str(image))
                page.get_by_text("Classifier says").first.wait_for(timeout=120_000)
                page.get_by_text("Detector says").first.wait_for(timeout=120_000)
                # both columns drawn (score bars + boxes) and the script run finished (no "running" widget)
                page.wait_for_function(
                    "document.querySelectorAll('[data-testid=stMain] [data-testid=stImage]').length >= 2",
                    timeout=120_000,
                )
                page.wait_for_function(
                    "!document.querySelector('[data-testid^=stStatusWidgetRunning]')", timeout=120_000
                )
                assert page.get_by_text(image.name).count() >= 1
                assert page.locator("[data-testid=stException]").count() == 0
                shot = tmp_path / "app_predict.png"
                page.screenshot(path=str(shot))
            finally:
                browser.close()
    finally:
        log = _stop(proc)
    assert "open http://localhost:" in log
    assert shot.stat().st_size > 20_000
    if os.environ.get("CLSDET_UPDATE_SCREENSHOT") == "1":  # opt-in: a test run leaves tracked files alone
        shutil.copyfile(shot, REPO / "docs" / "app_screenshot.png")
