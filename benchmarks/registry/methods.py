"""The labeling methods: how a pipeline's labels are made, priced by the labeling-time logs of that method.

A method's `name` is its one spelling everywhere: the labeling logs' `method` field (benchmarks/labeling/
log_format.py), the cost record (results.json `labeling`), the budget curve's points and the reports. Records written
before the spelling was unified said `cvat_boxes` on the curve: `aliases` reads them (benchmarks/record.py migrates).

    name          the key in logs and records
    label         how a report names it ("folder sorting")
    colour        its line in the budget plots (the pipelines' candidate palettes share its hue)
    unit          what its rate counts: "image" (seconds per image, like folder sorting) or "box" (per box drawn)
    modeled_s     the rate without logs, with `citation`; None: the built-in one of its unit (folder sorting's per
                  image, the configured box protocol's per box: benchmarks/labeling/rates.py)
"""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks.registry import lookup


class UnknownMethodError(ValueError):
    user_error = True


@dataclass(frozen=True)
class LabelingMethod:
    name: str
    label: str
    colour: str
    unit: str  # image | box
    aliases: tuple[str, ...] = ()  # older spellings found in records
    modeled_s: float | None = None
    citation: str | None = None


METHODS: dict[str, LabelingMethod] = {
    m.name: m
    for m in (
        LabelingMethod("folder_sort", "folder sorting", "#1f77b4", "image"),
        LabelingMethod("cvat", "CVAT boxes", "#d62728", "box", aliases=("cvat_boxes",)),
    )
}
# a method registered without a colour of its own gets one of these (tab10, without the two taken above)
SPARE_COLOURS = ("#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22")


def list_methods() -> list[str]:
    return list(METHODS)


def canonical(name: str) -> str:
    """The method's one spelling for `name` or one of its aliases; unknown names come back unchanged."""
    for m in METHODS.values():
        if name == m.name or name in m.aliases:
            return m.name
    return name


def get(name: str) -> LabelingMethod:
    return lookup(METHODS, canonical(name), "labeling method", UnknownMethodError)


def label(name: str) -> str:
    """The report's name of a method; an unregistered one (from a foreign record) by its key."""
    key = canonical(name)
    return METHODS[key].label if key in METHODS else str(name)


def colour(name: str) -> str:
    key = canonical(name)
    if key in METHODS:
        return METHODS[key].colour
    return SPARE_COLOURS[sum(map(ord, str(name))) % len(SPARE_COLOURS)]


def pair(names) -> tuple[str, str]:
    """(a, b): the two methods the verdict compares, as "a - b": of the methods present, in registry order, the
    second minus the first (with the built-in two: CVAT boxes minus folder sorting). Fewer than two present: the
    first two registered fill in, so a record with one method still names a pair (and compares nothing)."""
    given = list(dict.fromkeys(canonical(str(n)) for n in names))  # any iterable, a generator included
    present = [m for m in METHODS if m in given] + [m for m in given if m not in METHODS]
    for m in METHODS:
        if len(present) >= 2:
            break
        if m not in present:
            present.append(m)
    return present[1], present[0]
