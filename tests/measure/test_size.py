"""model_size(): parameters, FLOPs (checked by hand on a conv), fp32/fp16 files, and the Ultralytics model."""

from __future__ import annotations

import pytest
import torch

from benchmarks.measure.size import count_flops, model_size


class Pred:
    """The two parts of the predictor protocol model_size() uses, around a bare module."""

    def __init__(self, model, x, count=None):
        self.model, self._x = model, x
        if count is not None:
            self.count_flops = count

    def example_input(self, batch_size=1):
        return self._x


def test_conv_flops_params_and_files(tmp_path):
    conv = torch.nn.Conv2d(3, 8, 3, padding=1, bias=False)
    size = model_size(Pred(conv, torch.randn(4, 3, 10, 10)), tmp_path)
    assert size["params"] == 8 * 3 * 3 * 3
    # batch 1 (not 4): 2 FLOPs per multiply-add x out pixels (10*10) x C_out (8) x C_in*k*k (27)
    assert size["flops"] == 2 * 10 * 10 * 8 * 27
    assert "multiply-add counts as 2" in size["flops_method"] and "3x10x10" in size["flops_method"]
    assert size["imgsz"] == 10 and size["input_shape"] == [3, 10, 10]
    assert (tmp_path / "weights_fp32.pt").stat().st_size == pytest.approx(size["file_mb_fp32"] * 1e6, abs=1e3)
    assert conv.weight.dtype == torch.float32  # the fp16 copy left the model alone


def test_fp16_file_is_about_half():
    net = torch.nn.Sequential(torch.nn.Linear(256, 512), torch.nn.Linear(512, 64))
    size = model_size(Pred(net, torch.randn(1, 256)))
    assert size["file_mb_fp32"] == pytest.approx(4 * size["params"] / 1e6, rel=0.02)
    assert size["file_mb_fp16"] == pytest.approx(size["file_mb_fp32"] / 2, rel=0.03)
    assert size["flops"] == 2 * (256 * 512 + 512 * 64)


def test_uncountable_model_is_recorded_not_raised():
    class Broken(torch.nn.Module):
        def forward(self, x):
            raise RuntimeError("cannot trace")

    flops, method = count_flops(Broken(), torch.zeros(1, 3))
    assert flops is None and "cannot trace" in method


def test_the_predictors_own_counter_is_asked_when_flop_counter_fails():
    class Broken(torch.nn.Module):
        def forward(self, x):
            raise RuntimeError("cannot trace")

    size = model_size(Pred(Broken(), torch.zeros(1, 3), count=lambda x: (1234, "own counter")))
    assert size["flops"] == 1234
    assert size["flops_method"].startswith("own counter") and "cannot trace" in size["flops_method"]


def test_ultralytics_detection_model_counts_with_flop_counter():
    try:  # the detector's importer that tolerates settings keys this Ultralytics lacks
        from detector.ultra import ultralytics as import_ultralytics
    except ImportError:
        from detector.runtime import import_ultralytics
    import_ultralytics()
    from ultralytics.nn.tasks import DetectionModel

    model = DetectionModel("yolo11n.yaml", nc=3, verbose=False)
    size = model_size(Pred(model, torch.randn(1, 3, 64, 64)))
    assert size["flops_method"].startswith("torch.utils.flop_counter")
    # yolo11n: ~6.5 GFLOPs at 640 (Ultralytics' model table); conv FLOPs scale with pixels: (64/640)^2
    assert 0.04e9 < size["flops"] < 0.09e9
    assert 2.4e6 < size["params"] < 2.7e6  # yolo11n: 2.6 M parameters (Ultralytics' model table)
    assert model.training  # count_flops restores the mode it found
