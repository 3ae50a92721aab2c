"""The budget sentence and the verdict on made-up curves (the derivation is in benchmarks/curve/sentence.py)."""

from __future__ import annotations

import re

from benchmarks.curve import curve_sentence, verdict

CLS, DET = "the classifier (folder sorting)", "the detector (CVAT boxes)"


def _points(method, hours, aps, half=0.02, fractions=(0.25, 0.5, 1.0), seeds=(0,), beats=True, lo=None, hi=None):
    out = []
    for i, (h, ap, f) in enumerate(zip(hours, aps, fractions)):
        for s in seeds:
            out.append({
                "candidate": "resnet18" if method == "folder_sort" else "yolo11n",
                "pipeline": "classifier" if method == "folder_sort" else "detector", "method": method,
                "fraction": f, "seed": s, "n_images": int(400 * f),
                "labeling": {"hours": h, "hours_lo": (lo or hours)[i], "hours_hi": (hi or hours)[i],
                             "source": "modeled"},
                "accuracy": {"macro_ap": ap + 0.001 * s, "macro_ap_ci95": [ap - half, ap + half],
                             "vs_baseline": {"beats_baseline": beats}, "decisions_equal_always_positive": False},
                "undertrained": False,
            })  # fmt: skip
    return out


def _hours_in(text):
    return [float(x) for x in re.findall(r"(\d+(?:\.\d+)?) (?:labeling )?hours", text)]


def test_classifier_ahead_everywhere():
    pts = _points("folder_sort", [0.05, 0.1, 0.2], [0.7, 0.75, 0.8]) + _points(
        "cvat_boxes", [0.05, 0.1, 0.2], [0.4, 0.5, 0.6]
    )
    r = curve_sentence(pts)
    assert r["text"] == f"Across the measured range (0.05 to 0.2 labeling hours) {CLS} is ahead."
    assert [s["state"] for s in r["segments"]] == ["folder_sort"]


def test_detector_ahead_everywhere():
    pts = _points("folder_sort", [0.05, 0.1, 0.2], [0.4, 0.5, 0.6]) + _points(
        "cvat_boxes", [0.05, 0.1, 0.2], [0.7, 0.75, 0.8]
    )
    assert curve_sentence(pts)["text"] == f"Across the measured range (0.05 to 0.2 labeling hours) {DET} is ahead."


def test_crossing():
    # classifier: all train images cost 0.1 h and reach 0.7; the detector reaches 0.7 at 0.5 h and 0.9 at 2 h
    pts = _points("folder_sort", [0.02, 0.05, 0.1], [0.6, 0.65, 0.7]) + _points(
        "cvat_boxes", [0.1, 0.5, 2.0], [0.4, 0.7, 0.9]
    )
    r = curve_sentence(pts)
    states = [s["state"] for s in r["segments"]]
    assert states == ["not_measured:cvat_boxes", "folder_sort", "tie", "cvat_boxes"]
    text = r["text"]
    assert text.startswith(f"Up to 0.1 labeling hours only {CLS} was measured (no point of {DET} there); from 0.1 to ")
    assert f"hours {CLS} is ahead; from " in text and "the difference is within the uncertainty" in text
    assert text.endswith(f"hours on {DET} is ahead.")
    tie = r["segments"][2]
    # the difference (detector - classifier) is 0 at 0.5 h, and u = sqrt(2) x 0.02 = 0.028: the tie brackets 0.5 h
    assert tie["from_hours"] < 0.5 < tie["to_hours"]
    assert tie["from_hours"] > 0.3 and tie["to_hours"] < 0.8
    h = _hours_in(text)
    assert h == sorted(h)


def test_overlapping_within_uncertainty():
    pts = _points("folder_sort", [0.05, 0.1, 0.2], [0.6, 0.65, 0.7], half=0.1) + _points(
        "cvat_boxes", [0.05, 0.1, 0.2], [0.62, 0.7, 0.72], half=0.1
    )
    r = curve_sentence(pts)
    assert r["text"].endswith("the difference is within the uncertainty.")
    assert len(r["segments"]) == 1


def test_seed_spread_widens_the_uncertainty():
    # bootstrap CIs alone (half 0.01) would separate 0.60 from 0.66; a seed spread of ~0.05 must not
    cls = _points("folder_sort", [0.05, 0.1, 0.2], [0.6, 0.6, 0.6], half=0.01)
    det = []
    for s, shift in enumerate((-0.05, 0.0, 0.05)):
        det += _points("cvat_boxes", [0.05, 0.1, 0.2], [0.66 + shift] * 3, half=0.01, seeds=(s,))
    assert "within the uncertainty" in curve_sentence(cls + det)["text"]
    det1 = _points("cvat_boxes", [0.05, 0.1, 0.2], [0.66] * 3, half=0.01)
    assert f"{DET} is ahead" in curve_sentence(cls + det1)["text"]


def test_missing_method():
    pts = _points("folder_sort", [0.05, 0.1, 0.2], [0.6, 0.65, 0.7])
    assert curve_sentence(pts)["text"].startswith("No budget curve")


def test_verdict_inconclusive_when_no_model_beats_baseline():
    pts = _points("folder_sort", [0.05, 0.1, 0.2], [0.3, 0.3, 0.31], beats=False) + _points(
        "cvat_boxes", [0.1, 0.5, 2.0], [0.3, 0.31, 0.3], beats=False
    )
    paired = [{"fraction": 1.0, "seed": 0, "metric": "macro_ap", "diff": -0.01, "ci95": [-0.06, 0.04]}]
    v = verdict(pts, paired)
    assert v["inconclusive"] is True
    assert "Inconclusive on this data: no model beats the prevalence baseline" in v["text"]
    assert "resnet18 (classifier, folder sorting) does not beat the prevalence baseline" in v["text"]
    assert v["difference"]["differ"] is False and "do not differ beyond the uncertainty" in v["text"]


def test_verdict_winner_rate_range_and_undertrained():
    pts = _points("folder_sort", [0.02, 0.05, 0.1], [0.6, 0.65, 0.7]) + _points(
        "cvat_boxes", [0.1, 0.5, 2.0], [0.4, 0.7, 0.9]
    )
    pts[-1]["undertrained"] = True
    paired = [{"fraction": 1.0, "seed": 0, "metric": "macro_ap", "diff": 0.2, "ci95": [0.15, 0.25]}]
    v = verdict(pts, paired)
    assert v["inconclusive"] is False and v["difference"]["differ"] is True
    assert "+0.200 [+0.150, +0.250]" in v["text"] and "the two models differ" in v["text"]
    assert v["rate_range"]["survives"] is True  # lo = hi = the point here
    assert v["undertrained"] == [{"candidate": "yolo11n", "method": "cvat_boxes", "fraction": 1.0, "seed": 0}]
    assert "possibly undertrained" in v["text"]
    assert v["models"]["yolo11n"]["beats_baseline"] is True


def test_verdict_says_when_the_answer_depends_on_the_rates():
    cls = _points("folder_sort", [0.01, 0.02, 0.04], [0.5, 0.6, 0.65], half=0.01)
    # boxes at 7 s: first point at 0.2 h; at their fastest plausible rate the same boxes cost 1/100 of that
    det = _points("cvat_boxes", [0.2, 0.4, 0.8], [0.6, 0.7, 0.9], half=0.01, lo=[0.002, 0.004, 0.008])
    v = verdict(cls + det)
    seq = v["rate_range"]["ahead_sequence"]
    assert seq["nominal"] == ["folder_sort", "cvat_boxes"] and seq["boxes_cheap"] == ["cvat_boxes"]
    assert v["rate_range"]["survives"] is False
    assert "The budget answer depends on the labeling rates" in v["text"]


def test_records_are_json_and_empty_input_is_said():
    import json

    pts = _points("folder_sort", [0.02, 0.05, 0.1], [0.6, 0.65, 0.7], seeds=(0, 1)) + _points(
        "cvat_boxes", [0.1, 0.5, 2.0], [0.4, 0.7, 0.9], seeds=(0, 1)
    )
    paired = [{"fraction": 1.0, "seed": s, "metric": "macro_ap", "diff": 0.2 + 0.01 * s, "ci95": [0.1, 0.3]}
              for s in (0, 1)]  # fmt: skip
    v = verdict(pts, paired)
    json.dumps(v, allow_nan=False)
    json.dumps(curve_sentence(pts), allow_nan=False)
    assert "mean +0.205 +- 0.007 (std over 2 seeds)" in v["text"]
    empty = verdict([])
    assert empty["text"].startswith("No budget curve") and empty["models"] == {}
