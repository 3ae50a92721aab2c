"""The detector registry is what the installed Ultralytics ships: every detection yaml builds (nc=3)."""

from __future__ import annotations

import time

import pytest

from detector import models
from detector.config import DetectorConfig
from detector.models import ModelNameError, all_detection_yamls, get_spec, list_models, resolve_source

SPECS = all_detection_yamls()
# one name per shipped yaml file: its smallest scale (the file is what is tested; scales only widen it)
PER_FILE: dict[str, models.ModelSpec] = {}
for _spec in SPECS.values():
    PER_FILE.setdefault(str(_spec.family_yaml), _spec)
# building runs a stride-probing forward: the big ones cost seconds each on 2 shared cores
HEAVY = {"rtdetr-x", "rtdetr-resnet101", "rtdetr-resnet50", "yolov10x", "yolov10l", "yolov10b", "yolov9e"}
HEAVY |= {"yolov3", "yolov3-spp", "yolov9c"}


def test_registry_covers_the_generations_and_skips_other_tasks():
    names = list_models()
    for required in ("yolov5nu", "yolov8n", "yolov8s-p2", "yolov9t", "yolov10n", "yolo11n", "yolo12n", "yolo26n"):
        assert required in names
    assert not [n for n in names if any(t in n for t in ("-seg", "-pose", "-obb", "-cls", "world", "yoloe"))]
    assert "rtdetr-l" in list_models(include_unsupported=True) and "rtdetr-l" not in names
    assert get_spec("yolov5nu").yaml_name == "yolov5n.yaml" and get_spec("yolov5nu").weights_file == "yolov5nu.pt"
    assert get_spec("yolo11n").params == 2_624_080  # the yaml's summary comment (80 classes)


def test_unknown_and_unsupported_names_are_clear_errors():
    with pytest.raises(ModelNameError, match=r"model='yolo11q'.*did you mean .*yolo11n") as err:
        DetectorConfig(model="yolo11q")
    assert err.value.user_error
    with pytest.raises(ModelNameError, match="not supported by this pipeline.*RT-DETR"):
        DetectorConfig(model="rtdetr-l")


def test_every_supported_name_is_a_valid_config():
    for name in list_models():
        assert DetectorConfig(model=name).model == name
        assert resolve_source(name, "none") == (get_spec(name).yaml_name, "scratch")


def _build(spec: models.ModelSpec):
    from detector.runtime import import_ultralytics

    import_ultralytics()
    from ultralytics.nn.tasks import DetectionModel, RTDETRDetectionModel

    cls = RTDETRDetectionModel if spec.head == "RTDETRDecoder" else DetectionModel
    return cls(spec.yaml_name, nc=3, verbose=False)


@pytest.mark.parametrize(
    "name",
    [pytest.param(s.name, marks=pytest.mark.slow) if s.name in HEAVY else s.name for s in PER_FILE.values()],
)
def test_every_shipped_detection_yaml_builds(name):
    spec = SPECS[name]
    t0 = time.perf_counter()
    model = _build(spec)
    assert model.yaml["nc"] == 3 and model.model[-1].nc == 3
    assert type(model.model[-1]).__name__ == spec.head
    print(f"{name}: {sum(p.numel() for p in model.parameters()):,} params, {time.perf_counter() - t0:.1f}s")


def test_summary_params_match_a_built_model_at_80_classes():
    from detector.runtime import import_ultralytics

    import_ultralytics()
    from ultralytics.nn.tasks import DetectionModel

    model = DetectionModel(get_spec("yolov8n").yaml_name, nc=80, verbose=False)
    assert sum(p.numel() for p in model.parameters()) == get_spec("yolov8n").params
