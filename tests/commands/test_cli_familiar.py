"""The CLI habits users bring from other tools: --version, one GPU by index (--device cuda:N), the resolved config
printed without a run."""

from __future__ import annotations

import tomllib
from dataclasses import fields
from pathlib import Path

import pytest
import yaml
from tiny_bench import MINIMAL_CONFIG  # tests/ is on sys.path (pytest's rootdir-relative import)

from benchmarks.cli import build_parser, main
from benchmarks.config import LatencyConfig, load_config, save_resolved

REPO = Path(__file__).resolve().parents[2]
CONFIG = MINIMAL_CONFIG


def test_version_is_the_distribution_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    expected = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert capsys.readouterr().out.strip() == f"clsdet {expected}"


@pytest.mark.parametrize("command", [["bench", "c.yaml"], ["train", "classifier", "c.yaml"], ["latency", "run"]])
def test_device_takes_an_index(command):
    args = build_parser().parse_args([*command, "--device", "cuda:1", "cpu", "cuda", "mps", "auto"])
    assert args.device == ["cuda:1", "cpu", "cuda", "mps", "auto"]


@pytest.mark.parametrize("bad", ["cuda:x", "cuda:", "gpu", "cuda:-1", "tpu:0"])
def test_a_bad_device_name_fails_at_parse_time(bad, capsys):
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["bench", "c.yaml", "--device", bad])
    assert exit_.value.code == 2
    assert f"{bad!r} is not a device" in capsys.readouterr().err


def test_a_missing_training_device_names_the_devices_present(tmp_path, capsys, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    (tmp_path / "c.yaml").write_text(CONFIG)
    assert main(["bench", str(tmp_path / "c.yaml"), "--device", "cuda:1", "--out", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert "--device (the training device, the first one) cuda:1" in err and "devices present: cpu" in err
    assert not (tmp_path / "runs").exists()  # refused before a run folder exists


def test_an_index_past_the_last_gpu_is_missing(monkeypatch):
    import torch

    from benchmarks.measure.devices import DeviceError, check_present, device_present, present_devices

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda i: f"Fake GPU {i}")
    assert [device_present(d) for d in ("cuda", "cuda:0", "cuda:1", "cuda:2")] == [True, True, True, False]
    assert present_devices()[:3] == ["cpu", "cuda:0", "cuda:1"]
    check_present("cuda:1")
    with pytest.raises(DeviceError, match=r"cuda:2: .* devices present: cpu, cuda:0 \(Fake GPU 0\), cuda:1 \(Fake"):
        check_present("cuda:2")


def test_configs_accept_cuda_n_and_lightning_gets_the_index(tmp_path):
    from classifier.config import ClassifierConfig
    from classifier.config import ConfigError as ClsConfigError
    from classifier.hardware import lightning_devices
    from detector.config import ConfigError as DetConfigError
    from detector.config import DetectorConfig
    from detector.hardware import ultralytics_device

    assert ClassifierConfig(device="cuda:1").device == DetectorConfig(device="cuda:1").device == "cuda:1"
    for bad in ("cuda:one", "gpu"):
        with pytest.raises(ClsConfigError, match="cuda:N"):
            ClassifierConfig(device=bad)
        with pytest.raises(DetConfigError, match="cuda:N"):
            DetectorConfig(device=bad)
    assert lightning_devices("cuda:1", 1) == ("cuda", [1])  # Lightning takes no index in the accelerator
    assert lightning_devices("cuda", 2) == ("cuda", 2) and lightning_devices("cpu", 1) == ("cpu", 1)
    assert ultralytics_device("cuda:1") == "1"
    (tmp_path / "c.yaml").write_text(CONFIG)
    cfg = load_config(tmp_path / "c.yaml", overrides=["latency.devices=[cpu, cuda:1]", "classifier.device=cuda:1"])
    assert cfg.latency.devices == ["cpu", "cuda:1"] and cfg.candidate("classifier").config.device == "cuda:1"


def test_config_resolved_prints_what_a_run_saves(tmp_path, capsys):
    (tmp_path / "c.yaml").write_text(CONFIG)
    argv = ["config", str(tmp_path / "c.yaml"), "--profile", "quick", "--set", "split.seed=7", "--resolved"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    saved = save_resolved(
        load_config(tmp_path / "c.yaml", profile="quick", overrides=["split.seed=7"]), tmp_path / "r.yaml"
    )
    assert printed == saved.read_text()
    doc = yaml.safe_load(printed)
    assert doc["split"]["seed"] == 7 and doc["profile"] == "quick" and doc["classifier"][0]["epochs"] == 2
    assert set(doc["latency"]) == {f.name for f in fields(LatencyConfig)}  # every default filled in


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["config", "--resolved"], "need a config file"),
        (["config", "{t}/c.yaml"], "add --resolved"),
        (["config", "{t}/c.yaml", "--resolved", "--set", "splitt.seed=1"], "splitt"),
    ],
)
def test_config_resolved_errors(argv, message, tmp_path, capsys):
    (tmp_path / "c.yaml").write_text(CONFIG)
    assert main([a.format(t=tmp_path) for a in argv]) == 2
    assert message in capsys.readouterr().err
