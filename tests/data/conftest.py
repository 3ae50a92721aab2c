"""Tiny PIL images and one-file configs, for the source-reader and manifest tests (all in tmp_path)."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest
import yaml

from benchmarks.config import BenchConfig, load_config

_colors = itertools.count(1)


@pytest.fixture
def make_image():
    """make_image(path, size=(16, 12), color=None) -> path: a PNG whose content differs per call unless
    `color` is given (so two calls are two images by content hash)."""

    def make(path: Path, size: tuple[int, int] = (16, 12), color: tuple[int, int, int] | None = None) -> Path:
        from PIL import Image

        if color is None:
            n = next(_colors)
            color = (n % 251, (n * 7) % 253, (n * 13) % 255)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", size, color).save(path, format="PNG")
        return path

    return make


@pytest.fixture
def make_config(tmp_path):
    """make_config(classes, sources, **extra) -> BenchConfig loaded from tmp_path/clsdet.yaml."""

    def make(classes: list[str], sources: dict, **extra) -> BenchConfig:
        data = {"name": "t", "classes": classes, "sources": sources, **extra}
        path = tmp_path / "clsdet.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return load_config(path)

    return make


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.stat()
            out[p.relative_to(root).as_posix()] = (st.st_size if p.is_file() else 0, st.st_mtime_ns)
    return out


@pytest.fixture
def snapshot():
    """snapshot(root) -> {relative path: (size, mtime_ns)} of everything under root, folders included."""
    return _snapshot


def _record(manifest, name: str):
    found = [r for r in manifest.images if any(("/" + p).endswith("/" + name) for ps in r.paths.values() for p in ps)]
    assert len(found) == 1, f"{name}: {len(found)} records"
    return found[0]


@pytest.fixture
def record():
    """record(manifest, name) -> the one ImageRecord some source named with a path ending in `name`."""
    return _record
