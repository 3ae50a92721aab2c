"""Reports render from results.json alone, show both models side by side and survive partial data."""

from __future__ import annotations

import copy
import json
import re
import shutil
from pathlib import Path

import pytest

from benchmarks.report import render_reports

FIXTURE = Path(__file__).parents[1] / "fixtures" / "results_example.json"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> tuple[Path, dict]:
    run = tmp_path_factory.mktemp("run")
    shutil.copy(FIXTURE, run / "results.json")
    return run, render_reports(run)


def test_markdown_headline_and_method(rendered):
    run, out = rendered
    md = out["report.md"].read_text()
    head = md.split("## Headline", 1)[1].split("\n## ", 1)[0]
    assert "| classifier (resnet18)" in head and "| detector (yolo11n)" in head and "random-ranking baseline" in head
    macro_ap = next(line for line in head.splitlines() if line.startswith("| macro AP [95% CI]"))
    assert "0.880 [0.820, 0.920]" in macro_ap and "0.914 [0.854, 0.954]" in macro_ap and "0.407" in macro_ap
    assert "0.24 h (measured, folder_sort)" in head and "1.51 h (modeled, cvat)" in head
    assert "n/a (image-level model, no boxes)" in head  # the classifier has no box mAP
    assert "8.86 ms (n=2)" in head  # newest of the twice-measured cell, with its count
    assert "n/a (unavailable: torch.backends.mps" in head
    method = md.split("## How this was measured", 1)[1]
    for needle in (
        "warm-up",
        "iterations",
        "torch.cuda.Event",
        "time.perf_counter_ns",
        "1000 resamples",
        "Papadopoulos",
        "duplicate_image 3",
        "731db2d8",
    ):
        assert needle in method, needle
    for name in ("accuracy_vs_latency", "cost_breakdown", "per_class_ap", "confusion", "training_curves"):
        assert f"(plots/{name}.png)" in md


def test_latency_from_two_machines_side_by_side(rendered):
    md = rendered[1]["report.md"].read_text()
    cpu = md.split("### cpu", 1)[1].split("\n### ", 1)[0]
    header = cpu.strip().splitlines()[0]
    assert "ci-runner [1c2b7d]: Intel(R) Xeon(R) Platinum 8481C" in header
    assert "gpu-box [d0a4c6]: AMD EPYC 9454" in header
    row = next(ln for ln in cpu.splitlines() if "classifier" in ln and "| model" in ln and "|       1 |" in ln)
    assert "8.86 ms (n=2)" in row and "5.32 ms" in row
    cuda = md.split("### cuda", 1)[1].split("\n### ", 1)[0]
    assert "n/a (oom: CUDA out of memory" in cuda


def test_html_self_contained(rendered):
    page = rendered[1]["report.html"].read_text()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "<link" not in page and "<script" not in page
    imgs = re.findall(r'<img [^>]*src="([^"]+)"', page)
    assert len(imgs) == 5 and all(s.startswith("data:image/png;base64,") for s in imgs)
    assert "0.880 [0.820, 0.920]" in page and "How this was measured" in page


def test_every_plot_is_a_png(rendered):
    run, out = rendered
    plots = {k: v for k, v in out.items() if k.startswith("plots/")}
    assert len(plots) == 5
    for p in plots.values():
        assert p.parent == run / "plots" and p.read_bytes()[:8] == PNG_MAGIC and p.stat().st_size > 5000


def _render(tmp_path: Path, results: dict) -> str:
    (tmp_path / "results.json").write_text(json.dumps(results))
    out = render_reports(tmp_path)
    return out["report.md"].read_text() + out["report.html"].read_text()


def test_partial_data_shows_reasons(tmp_path):
    res = json.loads(FIXTURE.read_text())
    det = res["models"]["detector"]
    det.update(accuracy=None, box=None, training={"history": []}, size=None)
    det["latency"] = [r for r in det["latency"] if r["status"] != "ok"]
    res["stages"]["train"] = {"status": "failed", "wall_s": 3.0, "error": "RuntimeError: loss is NaN"}
    res["models"]["classifier"]["training"]["history"] = []
    text = _render(tmp_path, res)
    assert "n/a (stage train failed: RuntimeError: loss is NaN)" in text
    assert "0.880 [0.820, 0.920]" in text  # the classifier still reported
    assert "training_curves: n/a (no training history recorded)" in text
    assert not (tmp_path / "plots" / "training_curves.png").exists()


@pytest.mark.parametrize("drop", [("models",), ("labeling", "stages", "errors"), ("machine", "data", "split")])
def test_missing_sections_never_crash(tmp_path, drop):
    res = json.loads(FIXTURE.read_text())
    for key in drop:
        res.pop(key)
    text = _render(tmp_path, res)
    assert "How this was measured" in text


def test_minimal_document(tmp_path):
    res = {"schema_version": 1, "models": {"classifier": {"name": "resnet18", "latency": [{"status": "error"}]}}}
    text = _render(tmp_path, copy.deepcopy(res))
    assert "Headline" in text and "n/a" in text


def test_accuracy_latency_plot_has_ci_bars_and_the_baseline():
    import numpy as np
    from matplotlib.collections import LineCollection

    from benchmarks.report.plots import plot_accuracy_latency

    res = json.loads(FIXTURE.read_text())
    fig = plot_accuracy_latency(res)
    ax = fig.axes[0]  # this run's machine, cpu
    base = res["models"]["classifier"]["accuracy"]["baseline"]["macro_ap"]
    assert any(list(line.get_ydata()) == [base, base] for line in ax.lines)  # the dashed baseline
    segs = [seg for coll in ax.collections if isinstance(coll, LineCollection) for seg in coll.get_segments()]
    lo, hi = res["models"]["classifier"]["accuracy"]["macro_ap_ci95"]
    assert any(np.allclose(seg[:, 1], [lo, hi]) for seg in segs)  # vertical: the macro AP's 95% CI
    assert "random-ranking baseline (0.407)" in [t.get_text() for t in fig.legends[0].get_texts()]


def test_training_curves_number_epochs_from_1():
    from benchmarks.report.plots import plot_training

    res = json.loads(FIXTURE.read_text())
    res["models"]["detector"]["training"]["history"] = [
        {**row, "epoch": row["epoch"] + 1} for row in res["models"]["detector"]["training"]["history"]
    ]  # the detector's (Ultralytics) history counts from 1, the fixture's classifier one from 0 as Lightning did
    fig = plot_training(res)
    starts = {line.get_label().split(":")[0]: line.get_xdata()[0] for line in fig.axes[0].lines}
    assert starts == {"classifier": 1, "detector": 1}


def test_missing_artifacts_warn_and_keep_the_existing_predictions_plot(tmp_path, capsys):
    """A model folder, manifest.json or jobs/ deleted after the run: `report` says so per part (stderr and the top
    of the report) and keeps the predictions plot drawn while they existed; with nothing missing, a plot that cannot
    be drawn is still removed (it could contradict a changed results.json)."""
    res = json.loads(FIXTURE.read_text())
    res["curve"] = {**(res.get("curve") or {}), "points": [{"fraction": 1.0}]}
    res.setdefault("split", {})["test_ids"] = ["a"]
    old = tmp_path / "plots" / "predictions.png"
    old.parent.mkdir()
    old.write_bytes(PNG_MAGIC + b"drawn when the models existed")
    (tmp_path / "results.json").write_text(json.dumps(res))
    out = render_reports(tmp_path)
    err = capsys.readouterr().err
    for part in ("classifier is missing", "detector is missing", "manifest.json is missing", "jobs is missing"):
        assert f"warning: {tmp_path}" in err and part in err, err
        assert part in out["report.md"].read_text()
    assert old.read_bytes() == PNG_MAGIC + b"drawn when the models existed"
    assert out["plots/predictions.png"] == old and "kept from an earlier render" in err

    for entry in res["models"].values():
        entry.pop("artifact", None)
    res.pop("curve")
    res["split"].pop("test_ids")
    (tmp_path / "results.json").write_text(json.dumps(res))
    render_reports(tmp_path)
    assert "warning" not in capsys.readouterr().err and not old.exists()
