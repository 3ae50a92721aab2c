"""The demo's harder variants on the dataset side: folder-sorting mistakes, and how the options are named
in clsdet.yaml's comments and the summary. The scene side (object scale, distractors) is render.RenderOptions.
"""

from __future__ import annotations

import numpy as np

from benchmarks.demo.render import CLASSES, DEFAULT_OPTIONS, MAX_SIDE, MIN_SIDE, RenderOptions


def sorted_into(seed: int, index: int, classes: list[int], noise: float) -> tuple[list[int], bool]:
    """The class folders a person puts image `index` into, and whether that is a mistake.

    With probability `noise` one mistake per image: one of its classes swapped for a class it does not show (an
    image with no class lands in one folder). Its own random stream: the same image gets the same mistake however
    the dataset is rendered, and noise 0 draws nothing."""
    if not noise:
        return classes, False
    rng = np.random.default_rng([seed, index, 2])
    if rng.random() >= noise:
        return classes, False
    absent = [j for j in range(len(CLASSES)) if j not in classes]
    if not absent:  # it shows every class: leave one folder out instead
        return sorted(classes[:-1]), True
    wrong = absent[int(rng.integers(len(absent)))]
    if not classes:
        return [wrong], True
    out = list(classes)
    out[int(rng.integers(len(out)))] = wrong
    return sorted(out), True


def options_comment(options: RenderOptions, folder_noise: float) -> str:
    """Comment lines naming the non-default demo options (empty for the defaults: the default file is unchanged)."""
    if options == DEFAULT_OPTIONS and not folder_noise:
        return ""
    return (
        f"# Harder variant: --object-scale {options.object_scale:g} (object sides {MIN_SIDE * options.object_scale:.0%}"
        f"-{MAX_SIDE * options.object_scale:.0%} of the image), --distractors {options.distractors} (up to that many "
        f"non-class\n# shapes per image, in class colours), --folder-noise {folder_noise:g} (share of images "
        "mis-sorted in folders/; the CVAT export\n# is exact, so both models are scored on the true labels).\n"
    )


def options_lines(summary: dict) -> list[str]:
    o = summary.get("options") or {}
    if not o or (o["object_scale"] == 1.0 and not o["distractors"] and not o["folder_noise"]):
        return []
    return [
        f"options: object scale {o['object_scale']:g}, up to {o['distractors']} distractor(s) per image, "
        f"folder noise {o['folder_noise']:g}: {summary['mis_sorted_images']} image(s) mis-sorted in folders/ "
        "(the CVAT export is exact)"
    ]
