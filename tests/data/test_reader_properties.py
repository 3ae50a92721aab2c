"""Property-based tests (Hypothesis) for every reader: generated exports with random shapes, coordinates (nan, inf,
negative, inverted), names and sizes. Every input shape ends up kept, fixed (counted) or skipped (counted); a class
with a shape on an image is never a silent 0 there; kept boxes are finite, ordered and inside the image; nothing
but a user error naming the file escapes.

Small on purpose (tens of examples, tiny images): the point is the accounting rule, checked on odd input.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from xml.sax.saxutils import quoteattr

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from benchmarks.config import BenchConfig, SourceConfig
from benchmarks.data.build import build_manifest
from benchmarks.data.manifest import Manifest

CLASSES = ["car", "person"]
# problem kinds that stand for one input shape that was left out
SHAPE_SKIPS = {"bad_shape", "bad_line", "shape_skipped", "box_zero_area", "box_outside_image"}

SETTINGS = settings(
    max_examples=int(os.environ.get("CLSDET_HYPOTHESIS_EXAMPLES", "30")),
    database=None,  # no .hypothesis/ folder in the checkout; a failure prints the example to reproduce it
    deadline=None,  # image writes and PIL decodes vary with the machine's load
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

coord = st.one_of(
    st.floats(-50, 120, allow_nan=False, allow_infinity=False),
    st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 0.0]),
)
unit = st.one_of(
    st.floats(-0.5, 1.5, allow_nan=False, allow_infinity=False), st.sampled_from([math.nan, math.inf, -math.inf])
)
size = st.tuples(st.integers(1, 48), st.integers(1, 48))
# file names: letters, digits and the odd characters real photo names have (spaces, brackets, unicode)
stem = st.text(st.sampled_from("abcXYZ019 _-()é"), min_size=1, max_size=10).filter(lambda s: s.strip(" ") == s)


def _save(path: Path, wh: tuple[int, int], i: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", wh, (i % 256, (i * 37) % 256, 200)).save(path, format="PNG")  # distinct bytes per image


def _build(root: Path, reader: str, path: Path, images: Path | None = None, **options) -> Manifest:
    src = SourceConfig(reader, str(path), str(images) if images else None, options)
    cfg = BenchConfig(name="p", classes=CLASSES, sources={"s": src}, base_dir=str(root))
    return build_manifest(cfg, cache_dir=None)


def _finite(values) -> bool:
    return all(math.isfinite(v) for v in values)


def _check(m: Manifest, n_shapes: int, shape_classes: dict[str, set[str]], n_finite: int | None = None) -> None:
    """The accounting rule, and what a kept box and a label must look like. `n_finite`: how many input shapes
    have only finite coordinates; no more boxes than that may be kept (a nan is never a full-image box)."""
    assert not m.problems.fatal, [p.format() for p in m.problems.fatal]
    kept = sum(len(r.boxes.get("s", [])) for r in m.images)
    counts = m.problems.counts()
    skipped = sum(counts.get(k, 0) for k in SHAPE_SKIPS)
    assert kept + skipped == n_shapes, counts
    assert n_finite is None or kept <= n_finite, (kept, n_finite)
    for r in m.images:
        for c, x1, y1, x2, y2 in r.boxes.get("s", []):
            assert all(math.isfinite(v) for v in (x1, y1, x2, y2))
            assert 0 <= x1 < x2 <= r.width and 0 <= y1 < y2 <= r.height
            assert r.labels["s"][CLASSES[int(c)]] == 1
        name = Path(r.path).name
        for cls in shape_classes.get(name, set()):
            assert r.labels["s"].get(cls) != 0, f"{name}: {cls} has a shape but is a silent 0"


# --- cvat_xml ---------------------------------------------------------------------------------------------------
xml_shape = st.tuples(
    st.sampled_from(["box", "polygon", "ellipse", "mask", "points"]),
    st.sampled_from(CLASSES),
    st.lists(coord, min_size=4, max_size=4),
    st.sampled_from(["", ' rotation="30"', ' rotation="nan"']),
)
xml_image = st.tuples(stem, size, size, st.lists(xml_shape, max_size=4))


def _xml_shape(kind: str, label: str, v: list[float], extra: str) -> str:
    f = [repr(x) for x in v]  # "nan", "inf", "-0.0": what a hand-edited or buggy export would hold
    if kind == "box":
        return f'<box label="{label}" xtl="{f[0]}" ytl="{f[1]}" xbr="{f[2]}" ybr="{f[3]}"{extra}/>'
    if kind in ("polygon", "points"):
        return f'<{kind} label="{label}" points="{f[0]},{f[1]};{f[2]},{f[3]}"/>'
    if kind == "ellipse":
        return f'<ellipse label="{label}" cx="{f[0]}" cy="{f[1]}" rx="{f[2]}" ry="{f[3]}"{extra}/>'
    return f'<mask label="{label}" rle="1, 2" left="{f[0]}" top="{f[1]}" width="{f[2]}" height="{f[3]}"/>'


@SETTINGS
@given(
    images=st.lists(xml_image, min_size=1, max_size=4, unique_by=lambda t: t[0]),
    shapes=st.sampled_from(["box", "skip"]),
)
def test_cvat_xml_accounts_for_every_shape(images, shapes):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        body, classes = [], {}
        for i, (name, file_wh, said_wh, shape_list) in enumerate(images):
            _save(root / "e" / "images" / f"{name}.png", file_wh, i)
            inner = "".join(_xml_shape(*s) for s in shape_list)
            size_attrs = f'width="{said_wh[0]}" height="{said_wh[1]}"'  # may disagree with the file
            body.append(f'<image id="{i}" name={quoteattr(name + ".png")} {size_attrs}>{inner}</image>')
            classes[f"{name}.png"] = {s[1] for s in shape_list}
        labels = "".join(f"<label><name>{c}</name></label>" for c in CLASSES)
        (root / "e" / "annotations.xml").write_text(
            f"<annotations><meta><job><labels>{labels}</labels></job></meta>{''.join(body)}</annotations>"
        )
        m = _build(root, "cvat_xml", root / "e", shapes=shapes)
        shapes_in = [s for *_, ss in images for s in ss]
        rotatable = ("box", "ellipse")  # the only shapes the generator gives a rotation
        n_finite = sum(_finite(v) and ("nan" not in extra or k not in rotatable) for k, _, v, extra in shapes_in)
        _check(m, len(shapes_in), classes, n_finite)


# --- cvat_coco --------------------------------------------------------------------------------------------------
coco_ann = st.tuples(
    st.sampled_from(["bbox", "polygon", "rle", "empty"]),
    st.sampled_from([1, 2]),
    st.lists(coord, min_size=4, max_size=6),
    st.lists(st.integers(0, 40), min_size=1, max_size=6),
)
coco_image = st.tuples(stem, size, st.lists(coco_ann, max_size=4))


def _coco_ann(kind: str, cat: int, v: list[float], runs: list[int], image_id: int, h: int, w: int) -> dict:
    ann = {"image_id": image_id, "category_id": cat, "iscrowd": 0, "bbox": v[:4], "segmentation": []}
    if kind == "polygon":
        ann.update(bbox=[], segmentation=[v])
    elif kind == "rle":
        # CVAT writes a mask with iscrowd 1 and, like every annotation, `attributes`
        ann.update(
            iscrowd=1, attributes={"occluded": False}, bbox=[0, 0, 0, 0], segmentation={"size": [h, w], "counts": runs}
        )
    elif kind == "empty":
        ann.update(bbox=[])
    return ann


@SETTINGS
@given(
    images=st.lists(coco_image, min_size=1, max_size=4, unique_by=lambda t: t[0]),
    shapes=st.sampled_from(["box", "skip"]),
)
def test_cvat_coco_accounts_for_every_annotation(images, shapes):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = {
            "categories": [{"id": i + 1, "name": c} for i, c in enumerate(CLASSES)],
            "images": [],
            "annotations": [],
        }
        classes = {}
        for i, (name, (w, h), anns) in enumerate(images):
            _save(root / "e" / "images" / f"{name}.png", (w, h), i)
            data["images"].append({"id": i + 1, "file_name": f"{name}.png", "width": w, "height": h})
            data["annotations"] += [_coco_ann(*a, i + 1, h, w) for a in anns]
            classes[f"{name}.png"] = {CLASSES[a[1] - 1] for a in anns}
        for k, a in enumerate(data["annotations"]):
            a["id"] = k + 1
        (root / "e" / "annotations").mkdir(parents=True)
        (root / "e" / "annotations" / "instances_default.json").write_text(json.dumps(data))  # NaN/Infinity kept
        m = _build(root, "cvat_coco", root / "e", shapes=shapes)
        anns = [a for *_, image_anns in images for a in image_anns]
        n_finite = sum(kind == "rle" or _finite(v[:4] if kind == "bbox" else v) for kind, _, v, _ in anns)
        _check(m, len(data["annotations"]), classes, n_finite)


# --- cvat_yolo and yolo_dataset -------------------------------------------------------------------------------------
yolo_line = st.one_of(
    st.tuples(st.sampled_from([0, 1]), unit, unit, unit, unit).map(lambda t: " ".join(map(repr, t))),
    st.sampled_from(["garbage", "0 0.5 0.5", "1 a b c d", "0 0.5 0.5 0.2 0.2 0.1"]),
)
yolo_image = st.tuples(stem, size, st.lists(yolo_line, max_size=4))


def _yolo_finite(line: str) -> bool:
    try:
        return len(line.split()) == 5 and _finite(float(v) for v in line.split()[1:])
    except ValueError:
        return False


@SETTINGS
@given(images=st.lists(yolo_image, min_size=1, max_size=4, unique_by=lambda t: t[0]))
def test_cvat_yolo_accounts_for_every_line(images):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "e"
        (root / "obj_train_data").mkdir(parents=True)
        (root / "obj.names").write_text("\n".join(CLASSES) + "\n")
        (root / "train.txt").write_text("".join(f"data/obj_train_data/{n}.png\n" for n, *_ in images))
        classes = {}
        for i, (name, wh, lines) in enumerate(images):
            _save(root / "obj_train_data" / f"{name}.png", wh, i)
            (root / "obj_train_data" / f"{name}.txt").write_text("\n".join(lines) + "\n")
            classes[f"{name}.png"] = {CLASSES[int(ln[0])] for ln in lines if ln[:1] in "01" and ln[1:2] == " "}
        m = _build(Path(tmp), "cvat_yolo", root)
        lines = [ln for *_, ls in images for ln in ls]
        _check(m, len(lines), classes, sum(_yolo_finite(ln) for ln in lines))


@SETTINGS
@given(images=st.lists(yolo_image, min_size=1, max_size=4, unique_by=lambda t: t[0]))
def test_yolo_dataset_keeps_skips_or_refuses_naming_the_line(images):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "d"
        (root / "labels" / "train").mkdir(parents=True)
        (root / "data.yaml").write_text("path: .\ntrain: images/train\nnames: [car, person]\n")
        for i, (name, wh, lines) in enumerate(images):
            _save(root / "images" / "train" / f"{name}.png", wh, i)
            (root / "labels" / "train" / f"{name}.txt").write_text("\n".join(lines) + "\n")
        m = _build(Path(tmp), "yolo_dataset", root / "data.yaml")
        if m.problems.fatal:  # a bad line is fatal in this reader: each names its label file and line
            assert all(p.kind == "bad_label_line" and p.file.endswith(".txt") and p.line for p in m.problems.fatal)
            return
        lines = [ln for *_, ls in images for ln in ls]
        _check(m, len(lines), {}, sum(_yolo_finite(ln) for ln in lines))


# --- image-level readers: folders, labels_txt, class_lists ---------------------------------------------------
entry = st.tuples(
    st.sampled_from(["car", "person", "car+person", ".hidden", "_none"]),
    stem,
    st.sampled_from([".png", ".jpg", ".txt", ".heic", ""]),
)


@SETTINGS
@given(entries=st.lists(entry, min_size=1, max_size=6, unique_by=lambda t: (t[0], t[1], t[2])))
def test_folders_every_file_is_a_row_or_a_counted_skip(entries):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "sorted"
        for i, (folder, name, suffix) in enumerate(entries):
            path = root / folder / f"{name}{suffix}"
            if suffix in (".png", ".jpg"):
                _save(path, (4, 3), i)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(b"not an image")
        m = _build(Path(tmp), "folders", root, negative_folder="_none")
        assert not m.problems.fatal
        rows = sum(len(p) for r in m.images for p in r.paths.values())
        counts = m.problems.counts()
        hidden_folder_files = sum(1 for f, *_ in entries if f.startswith("."))
        skipped = counts.get("not_an_image", 0) + hidden_folder_files + counts.get("corrupt_image", 0)
        assert rows + skipped == len(entries), counts


label_row = st.tuples(stem, st.lists(st.sampled_from(["1", "0", "NA", "na", "2", "x", ""]), min_size=2, max_size=3))


@SETTINGS
@given(rows=st.lists(label_row, min_size=1, max_size=5, unique_by=lambda t: t[0]))
def test_labels_txt_every_row_is_kept_or_refused_with_its_line(rows):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        lines = ["# image,car,person"]
        for i, (name, cells) in enumerate(rows):
            _save(root / f"{name}.png", (4, 3), i)
            lines.append(",".join([f"{name}.png", *cells]))
        (root / "labels.txt").write_text("\n".join(lines) + "\n")
        m = _build(root, "labels_txt", root / "labels.txt")
        good = [r for r in rows if len(r[1]) == 2 and all(c.lower() in ("1", "0", "na") for c in r[1])]
        if len(good) < len(rows):
            assert m.problems.fatal and all(p.file.endswith("labels.txt") and p.line for p in m.problems.fatal)
        else:
            assert not m.problems.fatal and len(m) == len(rows)


@SETTINGS
@given(ids=st.lists(st.tuples(st.sampled_from(CLASSES), stem, st.booleans()), min_size=1, max_size=6))
def test_class_lists_every_id_is_matched_or_counted(ids):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "annotations").mkdir()
        present = sorted({name for _, name, exists in ids if exists})
        for i, name in enumerate(present):
            _save(root / "images" / f"{name}.png", (4, 3), i)
        (root / "images").mkdir(exist_ok=True)
        for cls in CLASSES:
            lines = [f"{name}.png" for c, name, _ in ids if c == cls]
            (root / "annotations" / f"{cls}.txt").write_text("\n".join(lines) + "\n")
        m = _build(root, "class_lists", root)
        assert not m.problems.fatal
        matched = sum(r.labels["s"].get(c) == 1 for r in m.images for c in CLASSES)
        listed = {(c, name) for c, name, _ in ids}
        unmatched = sum(1 for c, name in listed if name not in present)
        counts = m.problems.counts()
        assert matched == len(listed) - unmatched
        assert sum(v for k, v in counts.items() if k in ("unknown_id", "ambiguous_id")) >= unmatched


@pytest.mark.parametrize(
    ("counts", "size", "box"),
    [  # real encodings from pycocotools' mask.encode (maskApi.c rleToString), boxes from mask.toBbox
        ("g03400000;N", [7, 9], (3, 2, 9, 7)),  # a rectangle plus a lone far pixel
        ("U5n0i0SO>0000000000000000000000000000000000000d5", [40, 30], (4, 5, 25, 35)),  # runs > 31: 2-char counts
        ("3120O0014O10K00000012OO050J010O16OK10O92LOJ11N0040K070L0O0N14OM", [13, 11], (0, 0, 11, 13)),  # noise
        ("fYS1\\4P5" + "0" * 155 + "f4", [300, 200], (120, 150, 199, 290)),  # runs > 1024: 3-char, negative deltas
    ],
)
def test_rle_decoder_on_real_multi_run_encodings(counts, size, box):
    from benchmarks.data.sources.cvat_coco import rle_box

    assert rle_box({"size": size, "counts": counts}) == box
