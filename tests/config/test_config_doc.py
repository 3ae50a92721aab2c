"""The README's config reference is generated from the dataclasses; `clsdet config --example` is a valid config."""

from __future__ import annotations

import dataclasses

from benchmarks.cli import main
from benchmarks.config import load_config
from benchmarks.config.doc import _rows, _sections, readme_block, reference_markdown
from benchmarks.paths import REPO


def test_readme_reference_matches_the_dataclasses():
    block = readme_block((REPO / "README.md").read_text())
    assert block is not None, "README.md lost its config-reference markers"
    assert block == reference_markdown(), "README config reference is stale: paste `clsdet config --reference`"


def test_every_key_of_every_section_is_documented():
    text = reference_markdown()
    for key, cls, _ in _sections():
        assert f"**`{key}`**" in text
        for name, *_ in _rows(cls):
            assert f"| `{name}` |" in text, f"{key}.{name}"


def test_the_labels_section_lists_one_key_per_registered_pipeline_not_the_field_gathering_them():
    from benchmarks.config import LabelsConfig
    from benchmarks.registry.pipelines import PIPELINES

    names = [name for name, *_ in _rows(LabelsConfig)]
    assert names == [*PIPELINES, "truth"]


def test_example_config_loads_with_every_default(tmp_path, capsys):
    assert main(["config", "--example"]) == 0
    path = tmp_path / "clsdet.yaml"
    path.write_text(capsys.readouterr().out)
    cfg = load_config(path)
    assert cfg.name == "my-benchmark" and cfg.candidate_names() == ["classifier", "detector"]
    assert dataclasses.asdict(cfg.curve) == dataclasses.asdict(type(cfg.curve)())
