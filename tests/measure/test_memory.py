"""Peak training memory: the harness's reset makes a second training's peak its own, not the process's."""

from __future__ import annotations

import json
import sys

import pytest

from benchmarks.measure.memory import peak_memory_mb, reset_peak_memory, track_peak_memory


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="VmHWM reset is Linux-only")
def test_reset_forgets_an_earlier_peak():
    assert reset_peak_memory()
    big = bytearray(300 * 2**20)  # touch 300 MB
    big[::4096] = b"x" * len(big[::4096])
    first, method = peak_memory_mb("cpu", True)
    del big
    assert method == "process_peak_rss_since_training_start"
    assert reset_peak_memory()
    second, _ = peak_memory_mb("cpu", True)
    assert first - second > 250


def test_track_peak_memory_writes_into_training_json(tmp_path):
    (tmp_path / "training.json").write_text(json.dumps({"device": "cpu", "train_wall_s": 1.0}))
    with track_peak_memory(tmp_path):
        pass
    rec = json.loads((tmp_path / "training.json").read_text())
    assert rec["peak_mem_mb"] > 0 and rec["peak_mem_method"].startswith("process_peak_rss")
    assert rec["train_wall_s"] == 1.0
