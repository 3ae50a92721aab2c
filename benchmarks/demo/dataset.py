"""`clsdet demo-data`: a deterministic multi-label scene dataset, written the way people label by hand.

    OUT/unsorted/img_00000.jpg ...      every image
    OUT/folders/<class>/img_00042.jpg   folder sorting: an image with k classes is copied into k folders
    OUT/cvat_export.zip                 a "CVAT for images 1.1" job export (annotations.xml), full-extent boxes
    OUT/clsdet.yaml                     a ready benchmark config: folders -> classifier, CVAT boxes -> detector
    OUT/candidates.yaml                 the same with 3 classifier and 2 detector candidates (candidates.py)

Same (n_images, seed, size) -> same bytes in every file: each image is a pure function of (seed, index, size)
(benchmarks/demo/render.py), the XML carries fixed timestamps and the zip fixed member dates.

Harder variants (for a budget curve where the answer is not obvious), all off by default, and the default
outputs are byte-identical to a run without them: `object_scale` and `distractors` (RenderOptions, see
render.py), and `folder_noise`, the share of images a person mis-sorts. Noise goes into the folders only
(the classifier's training labels); the CVAT export, the truth both models are scored on, stays exact.
"""

from __future__ import annotations

import multiprocessing
import shutil
import time
import zipfile
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from benchmarks.demo.candidates import candidates_yaml
from benchmarks.demo.options import options_comment, options_lines, sorted_into
from benchmarks.demo.render import CLASSES, DEFAULT_OPTIONS, MAX_OBJECTS, DemoObject, RenderOptions, render
from benchmarks.runtime import available_cpus

OUTPUTS = ("unsorted", "folders", "cvat_export.zip", "clsdet.yaml", "candidates.yaml")
# Fixed, so the export is byte-deterministic; a plausible labeling session (CVAT writes these as its job's times)
CREATED = "2025-01-06 09:00:00.000000+00:00"
UPDATED = "2025-01-06 11:30:00.000000+00:00"
DUMPED = "2025-01-06 11:31:00.000000+00:00"
ZIP_DATE = (2025, 1, 6, 11, 31, 0)


class DemoError(ValueError):
    user_error = True


def image_name(index: int) -> str:
    return f"img_{index:05d}.jpg"


def _render_all(
    n_images: int, seed: int, size: int, workers: int, options: RenderOptions = DEFAULT_OPTIONS
) -> Iterator[tuple[bytes, list[DemoObject]]]:
    """(JPEG bytes, objects) per image in index order, streamed so memory stays flat for large sets."""
    job = partial(_render_one, seed=seed, size=size, options=options)
    if workers <= 1:
        yield from map(job, range(n_images))
        return
    # spawn, not fork: the CLI has imported torch (runtime.setup), and forking a process with its thread pools
    # can hang. map keeps index order, and each image depends only on (seed, index, size): parallel == serial.
    # ProcessPoolExecutor, not multiprocessing.Pool: a worker that dies raises BrokenProcessPool instead of leaving
    # the pool waiting for its results forever (a test run once hung 18 minutes in Pool's shutdown)
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield from pool.map(job, range(n_images), chunksize=max(1, min(64, n_images // (workers * 4))))


def _render_one(
    index: int, seed: int, size: int, options: RenderOptions = DEFAULT_OPTIONS
) -> tuple[bytes, list[DemoObject]]:
    return render(seed, index, size, options)


def default_workers(n_images: int, size: int) -> int:
    """Serial up to ~5000 images at 160 px; else up to 4 processes.

    Measured on the 2-core CI box: 600 images at 160 px render in 3.7-4.0 s serially and 4.5-5.3 s with 2 spawned
    workers (starting them, importing numpy/PIL twice and shipping the JPEGs back cost more than they save)."""
    work = n_images * (size / 160) ** 2
    return 1 if work < 5000 else max(1, min(4, available_cpus()))


def _prepare(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise DemoError(f"{out} exists and is a file; give a folder path for the demo dataset")
    if out.is_dir() and any(out.iterdir()):
        if not force:
            raise DemoError(
                f"{out} exists and is not empty; choose a new folder, or pass --force to replace the demo "
                f"outputs there ({', '.join(OUTPUTS)}; other files are left alone)"
            )
        for name in OUTPUTS:
            p = out / name
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            elif p.exists() or p.is_symlink():
                p.unlink()
    out.mkdir(parents=True, exist_ok=True)


def cvat_xml(images: list[tuple[str, list[DemoObject]]], size: int) -> str:
    """annotations.xml as CVAT's own writer lays out a job export (cvat/apps/dataset_manager/formats/cvat.py;
    compare /work/shared/fixtures/cvat/*/annotations.xml): meta/job, labels, then one <image> per frame."""
    n = len(images)
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        "<annotations>",
        "  <version>1.1</version>",
        "  <meta>",
        "    <job>",
        "      <id>1</id>",
        f"      <size>{n}</size>",
        "      <mode>annotation</mode>",
        "      <overlap>0</overlap>",
        "      <bugtracker></bugtracker>",
        f"      <created>{CREATED}</created>",
        f"      <updated>{UPDATED}</updated>",
        "      <subset>default</subset>",
        "      <start_frame>0</start_frame>",
        f"      <stop_frame>{n - 1}</stop_frame>",
        "      <frame_filter></frame_filter>",
        "      <segments>",
        "        <segment>",
        "          <id>1</id>",
        "          <start>0</start>",
        f"          <stop>{n - 1}</stop>",
        "          <url>http://localhost:8080/api/jobs/1</url>",
        "        </segment>",
        "      </segments>",
        "      <owner>",
        "        <username>annotator</username>",
        "        <email>annotator@example.com</email>",
        "      </owner>",
        "      <assignee></assignee>",
        "      <labels>",
    ]
    for c in CLASSES:
        lines += [
            "        <label>",
            f"          <name>{escape(c.name)}</name>",
            "          <color>#{:02x}{:02x}{:02x}</color>".format(*c.rgb),
            "          <type>rectangle</type>",
            "          <attributes>",
            "          </attributes>",
            "        </label>",
        ]
    lines += ["      </labels>", "    </job>", f"    <dumped>{DUMPED}</dumped>", "  </meta>"]
    for i, (name, objects) in enumerate(images):
        lines.append(f'  <image id="{i}" name={quoteattr(name)} width="{size}" height="{size}">')
        for o in objects:
            x1, y1, x2, y2 = o.box
            lines.append(
                f'    <box label={quoteattr(CLASSES[o.cls].name)} source="manual" occluded="{int(o.occluded)}" '
                f'xtl="{x1:.2f}" ytl="{y1:.2f}" xbr="{x2:.2f}" ybr="{y2:.2f}" z_order="0">'
            )
            lines.append("    </box>")
        lines.append("  </image>")
    lines.append("</annotations>")
    return "\n".join(lines) + "\n"


def _write_zip(path: Path, xml: str) -> None:
    info = zipfile.ZipInfo("annotations.xml", date_time=ZIP_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(info, xml.encode("utf-8"))


def config_yaml(size: int, options: RenderOptions = DEFAULT_OPTIONS, folder_noise: float = 0.0) -> str:
    """The benchmark config, with a comment per key (format: benchmarks/config/schema.py)."""
    names = ", ".join(c.name for c in CLASSES)
    return f"""\
# Benchmark config for the demo dataset written by `clsdet demo-data` (format: benchmarks/config/schema.py).
{options_comment(options, folder_noise)}# Paths are relative to this file's folder. Try: clsdet data inspect clsdet.yaml
name: demo                      # names the runs and the labeling logs that count for this benchmark
classes: [{names}]   # one ordered class list for the whole benchmark

sources:                        # where the labels come from, one entry per labeling method
  folders:                      # folder sorting: folders/<class>/ holds a copy of every image with that class
    reader: folders
    path: folders
    images: unsorted            # the full image set: an image in no class folder is a negative for every class
  cvat:                         # boxes drawn in CVAT, exported as "CVAT for images 1.1"
    reader: cvat_xml
    path: cvat_export.zip
    images: unsorted            # the export holds annotations only; the image files are here

labels:
  classifier: folders           # the classifier trains on the folder labels
  detector: cvat                # the detector trains on the CVAT boxes
  truth: cvat                   # both are scored on the test images' labels from the boxes

split: {{train: 0.7, val: 0.15, test: 0.15, seed: 0}}   # seeded, multi-label stratified; both models share it

classifier:                     # classifier.config.ClassifierConfig
  backbone: resnet18            # torchvision backbone name
  mode: scratch                 # scratch | frozen | finetune; scratch because nothing downloads pretrained weights
  weights: none                 # none | imagenet | /path/to/state_dict.pt
  imgsz: {size:<23}# the demo images are {size} px square

detector:                       # detector.config.DetectorConfig
  model: yolo11n                # Ultralytics model name; built from its yaml when weights is none
  weights: none                 # none (from the model yaml, no download) | /path/to/model.pt
  imgsz: {size:<23}# the demo images are {size} px square

latency:                        # every number carries its method (device, batch, scope, warm-up, iterations, threads)
  batch_sizes: [1, 8]
  warmup: 5
  iters: 30                     # at least this many timed iterations ...
  min_seconds: 1.0              # ... and at least this long

profiles:                       # `clsdet bench clsdet.yaml --profile quick` merges one of these over the keys above
  quick:                        # `make bench`: under 10 minutes on 2 CPU cores, with a budget curve
    classifier: {{epochs: 6, batch: 32, lr: 0.002}}
    # the curve is the common hour grid only: each method gets points at 3 labeling budgets both can reach
    # (the detector's with a few images, the classifier's with many); small subsets get up to 1.5x the epochs,
    # which keeps make bench (400 images) under 10 minutes on 2 cores
    curve: {{fractions: [1.0], seeds: [0], match_points: 3, max_epoch_factor: 1.5}}
    latency: {{rounds: 2, min_seconds: 0.3}}   # 2 interleaved rounds of >= 0.3 s per cell: about a minute
    detector:
      epochs: 14
      batch: 8                  # more optimizer steps per epoch: from scratch, progress follows steps, not epochs
      close_mosaic: 0
      # Ultralytics' "auto" optimizer picks AdamW at lr ~0.0009 for short runs; from scratch on a few hundred
      # images SGD at 0.02 without mosaic reaches val mAP50 ~0.9 in ~700 steps (measured on this demo, 128-160 px)
      extra: {{optimizer: SGD, lr0: 0.02, mosaic: 0.0, warmup_epochs: 1}}
  full:                         # the reference numbers
    classifier: {{epochs: 40}}
    detector: {{epochs: 100, batch: 16}}
"""


def generate(
    out: str | Path,
    n_images: int = 600,
    seed: int = 0,
    size: int = 160,
    force: bool = False,
    workers: int | None = None,
    object_scale: float = 1.0,
    distractors: int = 0,
    folder_noise: float = 0.0,
) -> dict:
    """Write the demo dataset to `out`; returns a summary (counts per class, images, boxes, empty images, wall_s).

    object_scale, distractors: RenderOptions (render.py); folder_noise: share of images mis-sorted in the
    folders (sorted_into). The defaults write today's dataset byte for byte."""
    if n_images < 1:
        raise DemoError(f"--images must be at least 1, got {n_images}")
    if not 64 <= size <= 1024:
        raise DemoError(f"--size must be between 64 and 1024 px, got {size} (160 trains in minutes on a CPU)")
    if seed < 0:
        raise DemoError(f"--seed must be >= 0, got {seed}")
    if not 0 <= folder_noise <= 0.5:
        raise DemoError(f"--folder-noise must be between 0 and 0.5 (a share of images), got {folder_noise}")
    try:
        options = RenderOptions(object_scale=object_scale, distractors=distractors)
    except ValueError as exc:  # the message names the option and its allowed range
        raise DemoError(f"demo options: {exc}") from exc
    t0 = time.perf_counter()
    out = Path(out).expanduser().resolve()
    _prepare(out, force)
    rendered = _render_all(n_images, seed, size, workers or default_workers(n_images, size), options)

    unsorted, folders = out / "unsorted", out / "folders"
    unsorted.mkdir()
    for c in CLASSES:  # every class folder, even one left empty: an empty folder still says "no" to its class
        (folders / c.name).mkdir(parents=True)
    per_class = {c.name: {"images": 0, "boxes": 0} for c in CLASSES}
    entries = []
    mis_sorted = 0
    for i, (data, objects) in enumerate(rendered):
        name = image_name(i)
        (unsorted / name).write_bytes(data)
        shown = sorted({o.cls for o in objects})
        for j in shown:
            per_class[CLASSES[j].name]["images"] += 1
        into, mistake = sorted_into(seed, i, shown, folder_noise)
        mis_sorted += mistake
        for j in into:
            shutil.copyfile(unsorted / name, folders / CLASSES[j].name / name)
        for o in objects:
            per_class[CLASSES[o.cls].name]["boxes"] += 1
        entries.append((name, objects))
    _write_zip(out / "cvat_export.zip", cvat_xml(entries, size))
    (out / "clsdet.yaml").write_text(config_yaml(size, options, folder_noise))
    (out / "candidates.yaml").write_text(candidates_yaml(config_yaml(size, options, folder_noise), size))

    counts = [len(objects) for _, objects in entries]
    return {
        "out": str(out),
        "images": n_images,
        "size_px": size,
        "seed": seed,
        "boxes": sum(counts),
        "occluded_boxes": sum(o.occluded for _, objects in entries for o in objects),
        "empty_images": counts.count(0),
        "objects_per_image": {k: counts.count(k) for k in range(MAX_OBJECTS + 1)},
        "per_class": per_class,
        "options": {"object_scale": object_scale, "distractors": distractors, "folder_noise": folder_noise},
        "mis_sorted_images": mis_sorted,
        "wall_s": round(time.perf_counter() - t0, 2),
    }


def format_summary(summary: dict) -> str:
    n = summary["images"]
    rows = [f"{'class':<10} {'images':>7} {'share':>6} {'boxes':>6}"]
    for name, c in summary["per_class"].items():
        rows.append(f"{name:<10} {c['images']:>7} {c['images'] / n:>6.1%} {c['boxes']:>6}")
    hist = ", ".join(f"{k}: {v}" for k, v in summary["objects_per_image"].items())
    return "\n".join(
        [
            f"demo dataset: {n} images of {summary['size_px']} px (seed {summary['seed']}) in {summary['out']}",
            *rows,
            f"boxes: {summary['boxes']} ({summary['occluded_boxes']} occluded); "
            f"empty images: {summary['empty_images']} ({summary['empty_images'] / n:.1%})",
            f"objects per image: {hist}",
            *options_lines(summary),
            f"wall: {summary['wall_s']:.1f} s",
        ]
    )
