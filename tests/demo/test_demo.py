"""clsdet demo-data: deterministic bytes, class frequencies, folders == boxes, a CVAT-1.1-shaped export, a config
that loads and whose two sources agree on every image."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from defusedxml import ElementTree
from PIL import Image

from benchmarks.config import load_config
from benchmarks.demo.dataset import DemoError, _render_all, generate
from benchmarks.demo.render import CLASSES, MAX_OBJECTS, MIN_VISIBLE, render, sample_classes

# seed 2 at 40 images: 4 empty images, one with 6 objects, rarest class in 7.5% (an unlucky seed could have no
# empty image at this size; at the default 600 images the chance of that is ~1e-24)
N, SIZE, SEED = 40, 96, 2
NAMES = [c.name for c in CLASSES]


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _xml(out: Path):
    with zipfile.ZipFile(out / "cvat_export.zip") as zf:
        assert zf.namelist() == ["annotations.xml"]
        return ElementTree.fromstring(zf.read("annotations.xml"), forbid_dtd=True)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("demo") / "ds"
    return out, generate(out, n_images=N, seed=SEED, size=SIZE)


def test_same_seed_same_bytes_other_seed_differs(demo, tmp_path):
    out, _ = demo
    again = generate(tmp_path / "again", n_images=N, seed=SEED, size=SIZE)
    assert _digest(tmp_path / "again") == _digest(out)
    assert again["per_class"] == demo[1]["per_class"]
    generate(tmp_path / "other", n_images=N, seed=SEED + 1, size=SIZE)
    a, b = _digest(out), _digest(tmp_path / "other")
    assert a["cvat_export.zip"] != b["cvat_export.zip"]
    assert a["unsorted/img_00000.jpg"] != b["unsorted/img_00000.jpg"]
    assert len({a[f"unsorted/img_{i:05d}.jpg"] for i in range(N)}) == N  # no two images alike (content = identity)


def test_parallel_render_equals_serial():
    assert list(_render_all(6, SEED, SIZE, workers=2)) == list(_render_all(6, SEED, SIZE, workers=1))


def test_class_frequencies_unequal_with_a_rare_class_and_empty_images():
    """The sampling law itself, over many draws (cheap: nothing rendered)."""
    rng = np.random.default_rng(0)
    draws = [sample_classes(rng) for _ in range(20000)]
    share = np.array([[j in d for j in range(len(CLASSES))] for d in draws]).mean(axis=0)
    assert len(CLASSES) >= 6
    assert share.min() < 0.15 and share.max() >= 0.45  # one rare class, one common: unequal, as the issue asks
    assert np.allclose(share, [c.presence for c in CLASSES], atol=0.015)
    empty = np.mean([len(d) == 0 for d in draws])
    assert 0.06 < empty < 0.12
    assert max(len(d) for d in draws) == MAX_OBJECTS


def test_summary_and_dataset_counts(demo):
    out, summary = demo
    assert summary["images"] == N and summary["empty_images"] > 0
    assert sum(summary["objects_per_image"].values()) == N
    assert max(k for k, v in summary["objects_per_image"].items() if v) == MAX_OBJECTS
    shares = {k: v["images"] / N for k, v in summary["per_class"].items()}
    assert min(shares.values()) < 0.15 < max(shares.values())
    assert sum(v["boxes"] for v in summary["per_class"].values()) == summary["boxes"]
    assert len(list((out / "unsorted").glob("img_*.jpg"))) == N
    with Image.open(out / "unsorted" / "img_00007.jpg") as im:
        assert (im.format, im.size) == ("JPEG", (SIZE, SIZE))


def test_xml_is_cvat_for_images_1_1_job_export(demo):
    out, summary = demo
    root = _xml(out)
    assert root.tag == "annotations" and root.findtext("version") == "1.1"
    job = root.find("meta/job")
    for key in ("id", "size", "mode", "start_frame", "stop_frame", "created", "updated"):
        assert job.findtext(key), key
    assert (job.findtext("size"), job.findtext("start_frame"), job.findtext("stop_frame")) == (str(N), "0", str(N - 1))
    labels = job.findall("labels/label")
    assert [lb.findtext("name") for lb in labels] == NAMES
    for lb in labels:
        assert lb.findtext("type") == "rectangle" and lb.find("attributes") is not None
        assert len(lb.findtext("color")) == 7 and lb.findtext("color").startswith("#")
    images = root.findall("image")
    assert [int(im.get("id")) for im in images] == list(range(N))
    boxes = root.findall("image/box")
    assert len(boxes) == summary["boxes"]
    assert sum(len(im.findall("box")) == 0 for im in images) == summary["empty_images"]
    assert {b.get("occluded") for b in boxes} == {"0", "1"}
    for im in images:
        assert (im.get("width"), im.get("height")) == (str(SIZE), str(SIZE))
        assert 0 <= len(im.findall("box")) <= MAX_OBJECTS
        for b in im.findall("box"):
            x1, y1, x2, y2 = (float(b.get(k)) for k in ("xtl", "ytl", "xbr", "ybr"))
            assert 0 <= x1 < x2 <= SIZE and 0 <= y1 < y2 <= SIZE
            # object extent 12-45% of the side (1 px of slack for the 2-decimal rounding)
            assert 0.12 * SIZE - 1 <= max(x2 - x1, y2 - y1) <= 0.45 * SIZE + 1
            assert b.get("label") in NAMES and b.get("z_order") == "0"


def test_folder_membership_matches_boxes(demo):
    out, _ = demo
    from_xml = {im.get("name"): {b.get("label") for b in im.findall("box")} for im in _xml(out).findall("image")}
    in_folders: dict[str, set[str]] = {name: set() for name in from_xml}
    assert sorted(p.name for p in (out / "folders").iterdir()) == sorted(NAMES)  # every class has its folder
    for p in (out / "folders").rglob("*.jpg"):
        in_folders[p.name].add(p.parent.name)
        assert p.read_bytes() == (out / "unsorted" / p.name).read_bytes()  # copies, as a file manager makes
    assert in_folders == from_xml


def test_objects_stay_visible_and_occluded_flag_is_consistent():
    occluded = 0
    for i in range(30):
        data, objects = render(SEED, i, SIZE)
        for o in objects:
            assert o.visible >= MIN_VISIBLE
            assert o.occluded == (o.visible < 0.97)
            occluded += o.occluded
        # the object's colour is really inside its box: the mean colour there moves toward the class colour
        with Image.open(io.BytesIO(data)) as im:
            px = np.asarray(im.convert("RGB"), dtype=np.float32)
        for o in objects:
            if not o.occluded:
                x1, y1, x2, y2 = (int(round(v)) for v in o.box)
                cx, cy = (x1 + x2) // 2, (y1 + y2) // 2
                if CLASSES[o.cls].name not in ("ring", "cross", "star"):  # shapes whose centre is their colour
                    assert np.abs(px[cy, cx] - np.array(CLASSES[o.cls].rgb)).max() < 80
    assert occluded > 0


def test_config_loads_with_profiles(demo):
    out, _ = demo
    cfg = load_config(out / "clsdet.yaml", profile="quick")
    assert cfg.name == "demo" and cfg.classes == NAMES
    assert (cfg.labels.role("classifier"), cfg.labels.role("detector"), cfg.labels.truth) == ("folders", "cvat", "cvat")
    assert cfg.sources["folders"].reader == "folders" and cfg.resolve(cfg.sources["folders"].images).is_dir()
    assert cfg.sources["cvat"].reader == "cvat_xml" and cfg.resolve(cfg.sources["cvat"].path).is_file()
    assert cfg.pipelines["classifier"]["imgsz"] == SIZE and cfg.pipelines["detector"]["imgsz"] == SIZE
    assert cfg.pipelines["classifier"]["epochs"] == 6 and cfg.pipelines["detector"]["epochs"] == 14
    assert cfg.candidate("classifier").config.mode == "scratch"
    det = cfg.candidate("detector").config
    assert det.imgsz == SIZE and det.extra["optimizer"] == "SGD"
    assert set(load_config(out / "clsdet.yaml").profiles) == {"quick", "full"}


def test_manifest_folder_labels_equal_cvat_labels(demo):
    from benchmarks.data.build import build_manifest
    from benchmarks.data.sources import list_readers

    if not {"folders", "cvat_xml"} <= set(list_readers()):
        pytest.skip("the folders / cvat_xml readers have not landed")
    out, summary = demo
    manifest = build_manifest(load_config(out / "clsdet.yaml"))
    assert not manifest.problems.fatal
    assert len(manifest.images) == N
    folders, cvat = manifest.targets("folders"), manifest.targets("cvat")
    assert not np.isnan(cvat).any() and not np.isnan(folders).any()
    np.testing.assert_array_equal(folders, cvat)
    assert int(cvat.sum(axis=0)[NAMES.index("heart")]) == summary["per_class"]["heart"]["images"]
    assert sum(len(manifest.boxes("cvat", r.id)) for r in manifest.images) == summary["boxes"]


def test_refuses_non_empty_folder_unless_forced(tmp_path):
    out = tmp_path / "ds"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(DemoError, match="--force"):
        generate(out, n_images=3, size=64)
    (out / "unsorted").mkdir()
    (out / "unsorted" / "stale.jpg").write_bytes(b"x")
    generate(out, n_images=3, size=64, force=True)
    assert (out / "notes.txt").read_text() == "mine"  # --force replaces only the demo's own outputs
    assert sorted(p.name for p in (out / "unsorted").iterdir()) == [f"img_{i:05d}.jpg" for i in range(3)]
    with pytest.raises(DemoError, match="--size"):
        generate(tmp_path / "bad", n_images=3, size=8)


def test_cli_prints_summary_and_next_commands(tmp_path, capsys):
    from benchmarks.cli import main

    out = tmp_path / "cli"
    assert main(["demo-data", str(out), "--images", "5", "--size", "64", "--seed", "1"]) == 0
    text = capsys.readouterr().out
    assert "heart" in text and f"clsdet data inspect {out}/clsdet.yaml" in text
    assert f"clsdet bench {out}/clsdet.yaml --profile quick" in text
    assert main(["demo-data", str(out), "--images", "5", "--size", "64"]) == 2  # not empty, no --force
    assert "--force" in capsys.readouterr().err
    assert Counter(p.suffix for p in (out / "unsorted").iterdir()) == {".jpg": 5}


# --- harder variants -----------------------------------------------------------------------------------------------
def test_distractors_change_pixels_not_objects():
    from benchmarks.demo.render import RenderOptions

    changed = 0
    for i in range(6):
        plain_bytes, plain = render(SEED, i, SIZE)
        busy_bytes, busy = render(SEED, i, SIZE, RenderOptions(distractors=5))
        assert busy == plain  # their own random stream: same classes, boxes and visibility
        changed += busy_bytes != plain_bytes  # an image may draw 0 distractors (uniform 0..5)
    assert changed >= 4


def test_object_scale_shrinks_boxes():
    from benchmarks.demo.render import MAX_SIDE, MIN_SIDE, RenderOptions

    sides = [max(o.box[2] - o.box[0], o.box[3] - o.box[1]) / 160 for i in range(20)
             for o in render(SEED, i, 160, RenderOptions(object_scale=0.3))[1]]  # fmt: skip
    assert len(sides) > 20
    # the drawn side bounds the box's longer side (anti-aliasing adds well under a pixel)
    assert min(sides) >= MIN_SIDE * 0.3 - 0.01 and max(sides) <= MAX_SIDE * 0.3 + 0.01
    with pytest.raises(DemoError, match="object_scale"):
        generate(Path("/nonexistent/never"), n_images=3, size=64, object_scale=3.0)


def test_folder_noise_goes_into_folders_only(demo, tmp_path):
    out, summary = demo
    noisy = generate(tmp_path / "noisy", n_images=N, seed=SEED, size=SIZE, folder_noise=0.3)
    a, b = _digest(out), _digest(tmp_path / "noisy")
    assert b["cvat_export.zip"] == a["cvat_export.zip"]  # the truth is untouched
    assert all(b[k] == a[k] for k in a if k.startswith("unsorted/"))
    assert noisy["per_class"] == summary["per_class"]  # counts describe the scenes, not the folders

    def members(root):
        return {(p.parent.name, p.name) for p in (root / "folders").rglob("*.jpg")}

    clean, mis = members(out), members(tmp_path / "noisy")
    wrong_images = {name for _, name in clean ^ mis}
    assert len(wrong_images) == noisy["mis_sorted_images"]
    assert 0.15 * N <= len(wrong_images) <= 0.45 * N  # ~30% of 40 images
    text = (tmp_path / "noisy" / "clsdet.yaml").read_text()
    assert "--folder-noise 0.3" in text and "# Harder variant" not in (out / "clsdet.yaml").read_text()
    load_config(tmp_path / "noisy" / "clsdet.yaml")  # the comment keeps it a valid config
    with pytest.raises(DemoError, match="--folder-noise"):
        generate(tmp_path / "bad", n_images=3, size=64, folder_noise=0.9)


def test_cli_harder_flags(tmp_path, capsys):
    from benchmarks.cli import main

    out = tmp_path / "hard"
    args = ["demo-data", str(out), "--images", "6", "--size", "64", "--object-scale", "0.5", "--distractors", "3"]
    assert main([*args, "--folder-noise", "0.2"]) == 0
    assert "options: object scale 0.5, up to 3 distractor(s) per image, folder noise 0.2" in capsys.readouterr().out
