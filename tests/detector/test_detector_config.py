"""Config validation, the model registry and the weights-source errors (all without importing ultralytics)."""

from __future__ import annotations

import pytest

from detector import models
from detector.config import ConfigError, DetectorConfig
from detector.models import ModelNameError, WeightsMissingError, list_models, resolve_source


def test_registry_names_and_installed():
    names = list_models()
    for required in ("yolo11n", "yolo11s", "yolov8n", "yolov8s", "yolo26n"):
        assert required in names
    assert set(list_models(installed_only=True)) <= set(names)
    with pytest.raises(ModelNameError, match=r"model='resnet50'.*allowed .*yolo11n") as err:
        DetectorConfig(model="resnet50")
    assert err.value.user_error is True


def test_registry_is_the_installed_ultralytics(monkeypatch, tmp_path):
    # a release without YOLO26 -> yolo26n is unknown, and the message names the installed version
    (tmp_path / "11").mkdir()
    src = models._ultralytics_cfg_dir() / "11" / "yolo11.yaml"
    (tmp_path / "11" / "yolo11.yaml").write_text(src.read_text())
    monkeypatch.setattr(models, "_ultralytics_cfg_dir", lambda: tmp_path)
    models.all_detection_yamls.cache_clear()
    try:
        assert list_models() == ["yolo11l", "yolo11m", "yolo11n", "yolo11s", "yolo11x"]
        with pytest.raises(ModelNameError, match=r"model='yolo26n' is not a detection model of the installed"):
            DetectorConfig(model="yolo26n")
    finally:
        models.all_detection_yamls.cache_clear()


@pytest.mark.parametrize(
    ("key", "value", "allowed"),
    [
        ("epochs", 0, "integer >= 1"),
        ("imgsz", 16, ">= 32"),
        ("device", "tpu", "auto | cpu | cuda | mps"),
        ("conf_floor", 1.5, r"\[0, 1\)"),
        ("workers", -1, "integer >= 0"),
        ("weights", "imagenet", "none | pretrained"),
        ("close_mosaic", -1, "integer >= 0"),
    ],
)
def test_bad_values_name_key_value_and_allowed(key, value, allowed):
    with pytest.raises(ConfigError, match=rf"{key}={value!r}.*{allowed}"):
        DetectorConfig(**{key: value})


def test_extra_cannot_override_owned_args_and_unknown_keys():
    with pytest.raises(ConfigError, match=r"\['epochs'\]"):
        DetectorConfig(extra={"epochs": 3, "lr0": 0.02})
    assert DetectorConfig(extra={"lr0": 0.02}).extra == {"lr0": 0.02}
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['epoch'\]"):
        DetectorConfig.from_dict({"epoch": 3})


def test_weights_sources(tmp_path, monkeypatch):
    monkeypatch.setenv("CLSDET_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("YOLO_CONFIG_DIR", str(tmp_path / "nothing"))
    assert resolve_source("yolo11n", "none") == ("yolo11n.yaml", "scratch")
    with pytest.raises(WeightsMissingError) as err:
        resolve_source("yolo11n", "pretrained")
    msg = str(err.value)
    assert "yolo11n.pt" in msg and str(tmp_path / "cache" / "weights" / "yolo11n.pt") in msg and "offline" in msg
    assert err.value.user_error is True
    (tmp_path / "cache" / "weights").mkdir(parents=True)
    (tmp_path / "cache" / "weights" / "yolo11n.pt").write_bytes(b"x")
    assert resolve_source("yolo11n", "pretrained") == (str(tmp_path / "cache/weights/yolo11n.pt"), "pretrained")
    with pytest.raises(WeightsMissingError, match=r"missing\.pt does not exist"):
        resolve_source("yolo11n", str(tmp_path / "missing.pt"))
