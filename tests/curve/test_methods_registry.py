"""The labeling-method registry: one spelling, the older one read as an alias, and the verdict's pair."""

from __future__ import annotations

import pytest

from benchmarks.registry import methods
from benchmarks.registry.methods import LabelingMethod


def test_the_pair_is_the_second_registered_method_present_minus_the_first():
    assert methods.pair(["folder_sort", "cvat"]) == ("cvat", "folder_sort")
    assert methods.pair(m for m in ("cvat_boxes", "folder_sort", "cvat")) == ("cvat", "folder_sort")  # a generator
    assert methods.pair([]) == ("cvat", "folder_sort")  # nothing measured: still a pair to name


def test_a_third_method_pairs_with_the_first_when_the_second_is_absent(monkeypatch):
    monkeypatch.setitem(methods.METHODS, "tagging", LabelingMethod("tagging", "tag lists", "#2ca02c", "image"))
    assert methods.pair(iter(["tagging", "folder_sort"])) == ("tagging", "folder_sort")
    assert methods.pair(["folder_sort", "cvat", "tagging"]) == ("cvat", "folder_sort")
    assert methods.colour("tagging") == "#2ca02c" and methods.label("tagging") == "tag lists"


def test_one_spelling_and_a_clear_error():
    assert methods.canonical("cvat_boxes") == "cvat" and methods.get("cvat_boxes").name == "cvat"
    assert methods.label("something_else") == "something_else"  # a foreign record's method, by its key
    with pytest.raises(
        methods.UnknownMethodError, match="unknown labeling method 'boxes'; labeling methods: folder_sort, cvat"
    ):
        methods.get("boxes")
