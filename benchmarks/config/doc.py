"""The config reference, generated from the config dataclasses so it cannot drift from them.

`reference_markdown()` is the README's "Config reference" block (a test compares the two); `example_yaml()` is
what `clsdet config --example` prints: every section and key with its default and the comment from the source.
"""

from __future__ import annotations

import dataclasses
import inspect
import io
import re
import tokenize
import typing
from typing import Any

import yaml

from benchmarks.config import schema as C  # noqa: N812
from benchmarks.registry.pipelines import PIPELINES

START, END = "<!-- config-reference:start -->", "<!-- config-reference:end -->"


def _sections() -> list[tuple[str, type, str]]:
    """(YAML key, dataclass, what the section is) in the order a config is read."""
    out = [
        ("sources.<name>", C.SourceConfig, "one data source, read by a reader picked by name (table above)"),
        ("labels", C.LabelsConfig, "which source trains which pipeline, and which is the test truth"),
        ("split", C.SplitConfig, "train/val/test split, written into the run"),
    ]
    for p in PIPELINES.values():
        out.append((p.name, p.config_class(), f"one {p.name} candidate (a mapping), or a list of them with `name:`"))
    out += [
        ("curve", C.CurveConfig, "labeling-budget curve: nested train subsets x seeds"),
        ("cost", C.CostConfig, "optional money rates (hours stay the unit when unset)"),
        ("latency", C.LatencyConfig, "inference latency measurement"),
        ("metrics", C.MetricsConfig, "bootstrap confidence intervals"),
        ("labeling", C.LabelingConfig, "where labeling-time logs are read from"),
        ("mlflow", C.MlflowConfig, "tracking store"),
    ]
    return out


def _comments(cls: type) -> dict[str, str]:
    """Field name -> the comment on its line in the class source (or the comment lines right above it)."""
    src = inspect.getsource(cls)
    out: dict[str, str] = {}
    above: list[str] = []
    for line in src.splitlines()[1:]:
        stripped = line.strip()
        if stripped.startswith("#"):
            above.append(stripped.lstrip("# ").strip())
            continue
        m = re.match(r"\s+(\w+)\s*:", line)
        if m and not stripped.startswith(("def ", "@")):
            toks = list(tokenize.generate_tokens(io.StringIO(line).readline))
            trailing = [t.string.lstrip("# ").strip() for t in toks if t.type == tokenize.COMMENT]
            text = " ".join([*above, *trailing]).strip()
            if text:
                out[m.group(1)] = text
        above = []
        if stripped.startswith("def "):
            break
    return out


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return "(required)"


def _type(cls: type, name: str) -> str:
    tp = typing.get_type_hints(cls)[name]
    return str(tp).replace("typing.", "").replace("<class '", "").replace("'>", "")


def _fields(cls: type):
    return [f for f in dataclasses.fields(cls) if f.init and not f.name.startswith("_")]


def _rows(cls: type) -> list[tuple[str, str, Any, str]]:
    """(key, type, default, meaning) per YAML key; a field gathering registry-named keys (OPEN_KEYS: one per
    pipeline) is shown as those keys, each with the class's `role_note`."""
    notes = _comments(cls)
    held = getattr(cls, "OPEN_KEYS", (None,))[0]
    out = []
    for f in _fields(cls):
        if f.name == held:
            out += [(p.name, "str", "", cls.role_note(p)) for p in PIPELINES.values()]
        else:
            out.append((f.name, _type(cls, f.name), _default(f), notes.get(f.name, "")))
    return out


def reference_markdown() -> str:
    lines = [START, ""]
    lines.append(
        "Generated from the config dataclasses (`clsdet config --reference`); `clsdet config --example` prints a "
        "commented YAML with every key. Top level: `name`, `classes`, `aliases`, `ignore`, `sources`, the sections "
        "below, and `profiles`."
    )
    for key, cls, what in _sections():
        lines += ["", f"**`{key}`**: {what}", "", "| key | type | default | meaning |", "| --- | --- | --- | --- |"]
        for name, tp, default, note in _rows(cls):
            note, default = note.replace("|", "\\|"), repr(default).replace("|", "\\|")
            lines.append(f"| `{name}` | {tp.replace('|', 'or')} | `{default}` | {note} |")
    lines += ["", END]
    return "\n".join(lines)


def example_yaml() -> str:
    out = [
        "# clsdet benchmark config: every key with its default (clsdet config --example)",
        "name: my-benchmark",
        "classes: [bolt, nut]",
        "sources:",
        "  folders: {reader: folders, path: sorted, images: all_images}",
        "  cvat: {reader: cvat_xml, path: exports/job.zip, images: all_images}",
    ]
    for key, cls, what in _sections():
        if key.startswith("sources"):
            continue
        out.append(f"{key}:  # {what}")
        for name, _, default, note in _rows(cls):
            value = yaml.safe_dump(default, default_flow_style=True).strip().removesuffix("...").strip()
            out.append(f"  {name}: {value}" + (f"  # {note}" if note else ""))
    return "\n".join(out) + "\n"


def readme_block(readme_text: str) -> str | None:
    """The reference block currently in the README (None when the markers are missing)."""
    if START not in readme_text or END not in readme_text:
        return None
    return readme_text[readme_text.index(START) : readme_text.index(END) + len(END)]
