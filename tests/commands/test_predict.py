"""`clsdet predict RUN_DIR IMAGE_OR_FOLDER...` on the session's tiny trained run (tests/app/tiny_run.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))
from tiny_run import tiny_run  # noqa: E402

from benchmarks.app import core  # noqa: E402
from benchmarks.cli import main  # noqa: E402
from benchmarks.predictions.run import candidates  # noqa: E402


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    return tiny_run(tmp_path_factory)


@pytest.fixture(scope="module")
def images(run_dir) -> list[Path]:
    return sorted((run_dir / "latency_images").iterdir())[:2]


def _json(capsys, argv) -> dict:
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_json_has_both_models_with_tuned_thresholds(run_dir, images, capsys, tmp_path):
    junk = tmp_path / "notes.jpg"
    junk.write_text("not an image")
    doc = _json(capsys, ["predict", str(run_dir), *map(str, images), str(junk), "--json"])
    assert [e["image"] for e in doc["images"]] == [str(p) for p in images]
    assert doc["skipped"] == [f"{junk}: not an image (JPEG, PNG, BMP, WebP, GIF or TIFF); leave it out or convert it"]
    results = core.load_run(run_dir)
    groups = candidates(results)
    assert set(doc["models"]) == {n for names in groups.values() for n in names}
    cls = groups["classifier"][0]
    tuned = json.loads((run_dir / results["models"][cls]["artifact"] / "thresholds.json").read_text())["thresholds"]
    assert doc["models"][cls]["thresholds"] == pytest.approx(tuned, abs=1e-6)
    for entry in doc["images"]:
        for name, out in entry["models"].items():
            th = doc["models"][name]["thresholds"]
            assert out["labels"] == [c for c, s in out["scores"].items() if s >= th[c]]
        det = groups["detector"][0]
        boxes = entry["models"][det]["boxes"]
        assert all(b["conf"] >= doc["models"][det]["thresholds"][b["class"]] for b in boxes)
        assert "boxes" not in entry["models"][cls]


def test_one_model_and_a_threshold_override(run_dir, images, capsys):
    doc = _json(
        capsys, ["predict", str(run_dir), str(images[0]), "--json", "--model", "classifier", "--threshold", "0"]
    )
    assert list(doc["models"]) == ["classifier"]
    out = doc["images"][0]["models"]["classifier"]
    assert out["labels"] == list(out["scores"])  # threshold 0: every class
    assert doc["models"]["classifier"]["thresholds_source"] == "--threshold"


def test_table_and_folders(run_dir, capsys):
    assert main(["predict", str(run_dir), str(run_dir / "latency_images")]) == 0
    out = capsys.readouterr().out
    n = len(list((run_dir / "latency_images").iterdir()))
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["image", "model", "labels"]
    names = [n for ns in candidates(core.load_run(run_dir)).values() for n in ns]
    for name in names:
        assert sum(f" {name} " in line for line in lines) == n
    assert "classifier thresholds (tuned on val):" in out


def test_bad_inputs_are_clear_errors(run_dir, tmp_path, capsys):
    assert main(["predict", str(run_dir), str(tmp_path / "nothing.jpg")]) == 2
    err = capsys.readouterr().err
    assert "no such file or folder" in err and "no image could be read" in err
    assert main(["predict", str(run_dir), str(tmp_path), "--model", "vit"]) == 2
    assert "--model 'vit'" in capsys.readouterr().err
    assert main(["predict", str(tmp_path), str(tmp_path)]) == 2
    assert "results.json not found" in capsys.readouterr().err
