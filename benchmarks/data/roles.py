"""Which source's labels train each pipeline, where the config leaves it open.

The config fills what needs no reader knowledge (`labels.truth`: the first box pipeline's source if given, else the
first source; an image-level pipeline: the truth). A box pipeline's default is the first source whose reader yields
boxes: which readers do is declared in each reader's own file (benchmarks/data/sources/), so it is resolved here, on
the data layer, when a bench starts (harness/run.py) rather than by the config, which sits below the readers.
"""

from __future__ import annotations

from benchmarks.data.sources import box_readers
from benchmarks.registry.pipelines import PIPELINES


def resolve_label_roles(cfg) -> None:
    """Fill each box pipeline's `labels.<pipeline>` left empty with the first box source (or "" when none has boxes:
    the training stage then says what to add). Idempotent: a given role is never changed."""
    readers = set(box_readers())
    boxes = [name for name, s in cfg.sources.items() if s.reader in readers]
    for p in PIPELINES.values():
        if p.uses_boxes and not cfg.labels.role(p.name):
            cfg.labels.roles[p.name] = boxes[0] if boxes else ""


def counted_sources(cfg) -> tuple[str, str]:
    """(label source, box source): what the run's labeling counts come from: the image-level labels of the first
    pipeline that trains on them and the boxes of the first that trains on boxes ("" when no pipeline does)."""
    first = {flag: next((cfg.labels.role(p.name) for p in PIPELINES.values() if p.uses_boxes == flag), "")
             for flag in (False, True)}  # fmt: skip
    return first[False], first[True]
