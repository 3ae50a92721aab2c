"""benchmarks/predictions/scoring.py: the example rule, mistakes, and scoring by what a predictor can do (never by
its pipeline's name)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from benchmarks.predictions import PredictionError
from benchmarks.predictions.scoring import choose_examples, disagreement, mistakes, predict_encoded, score_paths


def _png(size=(12, 8)) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(
        buf, format="PNG"
    )
    return buf.getvalue()


def test_choose_examples_is_a_fixed_rule():
    dis = np.array([0.1, 0.9, 0.5, 0.9, 0.0, 0.3, 0.2, 0.7])
    picked = choose_examples(dis, n=5, n_random=2, seed=0)
    assert picked[:3] == [1, 3, 7]  # largest first, ties by position
    assert len(set(picked)) == 5 and picked == choose_examples(dis, n=5, n_random=2, seed=0)
    assert sorted(choose_examples(dis[:3], n=12)) == [0, 1, 2]  # fewer images than asked: all of them


def test_disagreement_is_the_largest_per_class_difference():
    a = np.array([[0.9, 0.1], [0.5, 0.5]])
    b = np.array([[0.2, 0.3], [0.5, 0.4]])
    np.testing.assert_allclose(disagreement(a, b), [0.7, 0.1], atol=1e-6)
    assert disagreement(np.zeros((0, 2)), np.zeros((0, 2))).shape == (0,)


def test_disagreement_of_more_models_is_the_largest_pairwise_one():
    a = np.array([[0.9, 0.1], [0.5, 0.5]])
    b = np.array([[0.2, 0.3], [0.5, 0.4]])
    c = np.array([[0.5, 0.0], [0.0, 0.4]])
    pairs = np.max([disagreement(a, b), disagreement(a, c), disagreement(b, c)], axis=0)
    np.testing.assert_allclose(disagreement(a, b, c), pairs, atol=1e-6)
    np.testing.assert_allclose(disagreement(a, b, c), [0.7, 0.5], atol=1e-6)
    np.testing.assert_allclose(disagreement(a), [0.0, 0.0])  # one model disagrees with nobody


def test_mistakes_ignore_classes_the_truth_cannot_speak_about():
    m = mistakes(["a", "c"], np.array([1.0, 1.0, 0.0, np.nan]), ["a", "b", "c", "d"])
    assert m == {"missed": ["b"], "false": ["c"]}
    assert mistakes(["d"], np.array([0.0, 0.0, 0.0, np.nan]), ["a", "b", "c", "d"]) == {"missed": [], "false": []}


class _Scores:
    """A predictor without predict_boxes: image-level scores only."""

    classes, thresholds = ["a", "b"], np.asarray([0.5, 0.5], np.float32)

    def predict_scores(self, paths):
        return np.tile([0.25, 0.75], (len(paths), 1))

    def scores_encoded(self, data, name):
        return np.asarray([0.25, 0.75], np.float32), None


class _Boxes(_Scores):
    """A predictor with predict_boxes, whatever its pipeline is called."""

    BOXES = np.asarray([[1, 2, 5, 6, 0.6, 1], [0, 0, 4, 4, 0.3, 1]], np.float32)

    def predict_scores(self, paths):
        raise AssertionError("a box predictor is scored from its boxes: one pass over the images")

    def predict_boxes(self, paths):
        return [self.BOXES for _ in paths]

    def scores_from_boxes(self, boxes):  # the detector's rule: per class the highest box confidence
        return np.asarray([[max((b[4] for b in bs if int(b[5]) == c), default=0.0) for c in (0, 1)] for bs in boxes])

    def scores_encoded(self, data, name):
        return np.asarray([0.0, 0.6], np.float32), self.BOXES


def test_score_paths_goes_by_what_the_predictor_can_do():
    scores, boxes = score_paths(_Scores(), ["x.png", "y.png"])
    assert boxes is None and scores.dtype == np.float32 and scores.tolist() == [[0.25, 0.75]] * 2
    scores, boxes = score_paths(_Boxes(), ["x.png"])
    np.testing.assert_allclose(scores, [[0.0, 0.6]])  # the predictor's own scores of those boxes, one pass
    assert len(boxes) == 1 and boxes[0] is _Boxes.BOXES


def test_predict_encoded_takes_the_predictors_scores_and_boxes():
    p = predict_encoded(_Boxes(), "any-name", "x.png", _png())
    assert p.pipeline == "any-name" and p.labels() == ["b"] and p.boxes is _Boxes.BOXES
    p = predict_encoded(_Scores(), "detector", "x.png", _png())  # the name labels the result, nothing more
    assert p.boxes is None and p.labels() == ["b"]


def test_a_predictors_refusal_is_a_prediction_error_and_its_bugs_stay_bugs():
    class Refuses(_Scores):
        def scores_encoded(self, data, name):
            err = ValueError(f"{name}: this decoder cannot read it")
            err.user_error = True
            raise err

    class Broken(_Scores):
        def scores_encoded(self, data, name):
            raise KeyError("a bug")

    with pytest.raises(PredictionError, match="x.png: this decoder cannot read it"):
        predict_encoded(Refuses(), "p", "x.png", _png())
    with pytest.raises(KeyError):
        predict_encoded(Broken(), "p", "x.png", _png())


def test_hostile_bytes_never_reach_the_predictor():
    class Never(_Scores):
        def scores_encoded(self, data, name):
            raise AssertionError("decoded bytes that inspect refuses")

    for data, reason in ((b"<html>", "not an image"), (b"", "the file is empty"), (_png()[:60], "truncated")):
        with pytest.raises(PredictionError, match=reason):
            predict_encoded(Never(), "p", "x.png", data)


def test_the_fake_pipelines_predictor_scores_an_upload_as_its_file(tmp_path):
    import json

    import fake_pipeline as FP  # noqa: N812 - tests/ is on sys.path

    (tmp_path / "weights.pt").write_bytes(b"w")
    (tmp_path / "config.json").write_text(json.dumps({"classes": ["a", "b", "c"]}))
    (tmp_path / "thresholds.json").write_text(json.dumps({"thresholds": [0.5, 0.5, 0.5]}))
    pred = FP.load(tmp_path)
    p = predict_encoded(pred, "fake", "dir/x.png", _png())
    assert p.boxes is None
    np.testing.assert_allclose(p.scores, score_paths(pred, ["other/x.png"])[0][0])  # a function of the name
