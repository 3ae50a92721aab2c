"""The per-class id lists reader: id forms, negatives from the image folder, unknown and ambiguous ids."""

from __future__ import annotations

import numpy as np

from benchmarks.data.build import build_manifest


def _dataset(tmp_path, make_image):
    for name in ("cat_1.png", "cat_2.png", "both.png", "none.png", "sub/dog_3.png"):
        make_image(tmp_path / "ds" / "images" / name)
    ann = tmp_path / "ds" / "annotations"
    ann.mkdir(parents=True)
    (ann / "cat.txt").write_text("# cats\ncat_1.png\ncat_2\n\nboth\n")  # with and without the extension
    (ann / "dog.txt").write_text("sub/dog_3.png\nboth.png\n")
    return ann


def test_lists_give_labels_and_unlisted_images_are_negatives(tmp_path, make_image, make_config, record):
    _dataset(tmp_path, make_image)
    m = build_manifest(make_config(["cat", "dog"], {"l": {"reader": "class_lists", "path": "ds"}}))
    assert m.problems.items == []
    assert len(m) == 5
    assert record(m, "cat_2.png").labels["l"] == {"cat": 1, "dog": 0}
    assert record(m, "both.png").labels["l"] == {"cat": 1, "dog": 1}
    assert record(m, "dog_3.png").labels["l"] == {"cat": 0, "dog": 1}
    assert record(m, "none.png").labels["l"] == {"cat": 0, "dog": 0}
    assert not np.isnan(m.targets("l")).any()


def test_path_may_be_the_annotations_folder_itself(tmp_path, make_image, make_config, record):
    _dataset(tmp_path, make_image)
    src = {"reader": "class_lists", "path": "ds/annotations", "images": "ds/images"}
    m = build_manifest(make_config(["cat", "dog"], {"l": src}))
    assert m.problems.items == [] and len(m) == 5
    assert m.sources["l"].vocabulary == ["cat", "dog"]


def test_unknown_and_ambiguous_ids_are_skipped_with_file_and_line(tmp_path, make_image, make_config, record):
    ann = _dataset(tmp_path, make_image)
    make_image(tmp_path / "ds" / "images" / "twin.jpg")
    make_image(tmp_path / "ds" / "images" / "twin.png")
    (ann / "cat.txt").write_text("cat_1\nghost\ntwin\ntwin.jpg\n")
    m = build_manifest(make_config(["cat", "dog"], {"l": {"reader": "class_lists", "path": "ds"}}))
    skips = {p.kind: p for p in m.problems.items}
    assert set(skips) == {"unknown_id", "ambiguous_id"}
    assert skips["unknown_id"].file.endswith("cat.txt") and skips["unknown_id"].line == 2
    assert "'ghost'" in skips["unknown_id"].message
    assert skips["ambiguous_id"].line == 3
    assert record(m, "twin.jpg").labels["l"]["cat"] == 1  # the exact file name still resolves
    assert record(m, "twin.png").labels["l"]["cat"] == 0


def test_other_files_in_the_lists_folder_are_counted(tmp_path, make_image, make_config):
    ann = _dataset(tmp_path, make_image)
    (ann / "README.md").write_text("how these lists were made")
    m = build_manifest(make_config(["cat", "dog"], {"l": {"reader": "class_lists", "path": "ds"}}))
    assert m.problems.counts() == {"not_a_class_list": 1}


def test_images_folder_is_required(tmp_path, make_config):
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "cat.txt").write_text("a\n")
    m = build_manifest(make_config(["cat"], {"l": {"reader": "class_lists", "path": "lists"}}))
    (p,) = m.problems.fatal
    assert p.kind == "images_required" and "sources.l.images" in p.fix
