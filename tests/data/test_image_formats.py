"""One definition of an image: the formats the readers list are the ones every decoder reads and the watcher counts;
a class nobody labels does not crash the classifier's validation or the evaluation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmarks.data.images import IMAGE_SUFFIXES


@pytest.mark.parametrize("suffix", sorted(IMAGE_SUFFIXES))
def test_every_listed_format_decodes_in_the_classifier(tmp_path, suffix):
    from classifier.data import load_image

    path = tmp_path / f"x{suffix}"
    Image.new("RGB", (12, 8), (200, 10, 30)).save(path)
    x = load_image(path)
    assert tuple(x.shape) == (3, 8, 12) and str(x.dtype) == "torch.uint8"
    assert abs(int(x[0, 4, 6]) - 200) < 8  # the pixels, not a blank tensor


def test_classifier_fallback_applies_exif_orientation(tmp_path):
    from classifier.data import load_image

    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "r.tif"
    Image.new("RGB", (20, 10)).save(path, exif=exif)
    assert tuple(load_image(path).shape) == (3, 20, 10)  # shown rotated, as build.image_info sizes it


def test_watcher_counts_exactly_the_formats_the_reader_reads():
    from benchmarks.labeling.tree import IMAGE_SUFFIXES as WATCHED
    from benchmarks.labeling.tree import classify

    assert WATCHED == IMAGE_SUFFIXES
    root = Path("/sorted")
    for name in ("a.heic", "a.gif", "a.dng"):  # the folder reader skips these: the watcher must not count them
        assert classify(root / "cat" / name, root, None) == (None, "not_an_image")


def test_unreadable_suffixes_are_counted_by_the_reader(tmp_path):
    from benchmarks.data.images import list_images
    from benchmarks.data.problems import Problems

    (tmp_path / "a.heic").write_bytes(b"x")
    problems = Problems()
    assert list_images(tmp_path, problems) == []
    assert problems.counts() == {"not_an_image": 1}


def test_classifier_validation_with_a_class_nobody_labels():
    import torch

    from classifier.module import make_metrics

    metrics = make_metrics(3)
    target = torch.tensor([[1, 0, -1], [0, 1, -1], [1, 1, -1], [0, 0, -1]])  # class 2: NA everywhere
    metrics.update(torch.tensor([[0.9, 0.1, 0.5], [0.2, 0.8, 0.5], [0.7, 0.6, 0.5], [0.1, 0.3, 0.5]]), target)
    values = metrics.compute()
    assert values["macro_ap"] == pytest.approx(1.0)  # both labelled classes ranked perfectly; class 2 left out
    # every labelled cell is right at 0.5: the unlabelled class must not pull the macro F1 down or add errors
    assert values["macro_f1"] == pytest.approx(1.0) and values["hamming"] == pytest.approx(0.0)
    assert values["exact_match"] == pytest.approx(1.0) and values["micro_f1"] == pytest.approx(1.0)


def test_evaluation_with_a_class_nobody_labels_lists_it():
    from benchmarks.evaluate import evaluate

    scores = np.array([[0.9, 0.1, 0.5], [0.2, 0.8, 0.5], [0.7, 0.6, 0.5], [0.1, 0.3, 0.5]])
    targets = np.array([[1, 0, np.nan], [0, 1, np.nan], [1, 1, np.nan], [0, 0, np.nan]])
    acc = evaluate(scores, targets, np.full(3, 0.5), ["a", "b", "c"], n_boot=20)
    assert acc["macro_ap"] == pytest.approx(1.0)
    assert "c" in acc["excluded_classes"]
