"""`clsdet models`: classifier backbones and detector models this machine can benchmark."""

from __future__ import annotations

import json
import subprocess
import sys

from benchmarks.cli import main


def test_models_json_lists_both_pipelines_with_cache_state(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("CLSDET_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("YOLO_CONFIG_DIR", str(tmp_path / "none"))
    (tmp_path / "torch" / "hub" / "checkpoints").mkdir(parents=True)
    (tmp_path / "torch" / "hub" / "checkpoints" / "vgg16-397923af.pth").write_bytes(b"x")
    (tmp_path / "cache" / "weights").mkdir(parents=True)
    (tmp_path / "cache" / "weights" / "yolov8n.pt").write_bytes(b"x")

    assert main(["models", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    cls = {r["name"]: r for r in data["classifier"]}
    assert len(cls) == 80 and {"vgg16", "inception_v3", "vit_b_16", "swin_t", "maxvit_t"} <= set(cls)
    assert cls["vgg16"]["cached"] and not cls["resnet18"]["cached"]
    assert (cls["resnet18"]["params"], cls["resnet18"]["input_size"]) == (11_689_512, 224)
    assert (cls["inception_v3"]["input_size"], cls["inception_v3"]["input_rule"]) == (299, ">=75")
    det = {r["name"]: r for r in data["detector"]}
    assert det["yolov8n"]["cached"] and not det["yolo11n"]["cached"]
    assert det["yolo11n"]["params"] == 2_624_080 and det["yolo11n"]["yaml"] == "yolo11.yaml"
    assert not det["rtdetr-l"]["supported"] and "RT-DETR" in det["rtdetr-l"]["note"]


def test_models_table_for_one_pipeline(capsys):
    assert main(["models", "--pipeline", "detector"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("detector models (") and "classifier backbones" not in out
    row = next(line for line in out.splitlines() if line.startswith("yolo11n "))
    assert "yolo11.yaml" in row and "2.6M" in row


def test_models_command_module_is_light():
    code = (
        "import sys, benchmarks.commands.models as m; "
        "print(sorted(k for k in ('torch', 'torchvision', 'ultralytics', 'lightning') if k in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_readme_study_config_is_valid():
    """The README's frozen/finetune/scratch + three-backbone example builds a valid config for every candidate."""
    import re
    from pathlib import Path

    import yaml

    from classifier.config import ClassifierConfig
    from detector.config import DetectorConfig

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = next(b for b in re.findall(r"```yaml\n(.*?)```", readme, re.S) if "r50-frozen" in b)
    doc = yaml.safe_load(block)
    built = [ClassifierConfig(**{k: v for k, v in c.items() if k != "name"}) for c in doc["classifier"]]
    assert [(c.backbone, c.mode) for c in built] == [
        ("resnet50", "frozen"), ("resnet50", "finetune"), ("resnet50", "scratch"),
        ("vgg16", "finetune"), ("inception_v3", "finetune"),
    ]  # fmt: skip
    assert DetectorConfig(**{k: v for k, v in doc["detector"][0].items() if k != "name"}).model == "yolo11n"
    names = {c["name"] for c in doc["classifier"] + doc["detector"]}
    assert set(doc["curve"]["candidates"]) <= names
