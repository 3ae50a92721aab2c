"""Which source trains each pipeline when `labels:` leaves it open: the config fills the truth and the image-level
pipelines, the data layer a box pipeline from the readers' own box kind."""

from __future__ import annotations

import pytest
import yaml

from benchmarks.cli import main
from benchmarks.config import load_config
from benchmarks.data.roles import counted_sources, resolve_label_roles

SOURCES = {
    "sorted": {"reader": "folders", "path": "sorted", "images": "all"},
    "boxes": {"reader": "cvat_xml", "path": "job.zip", "images": "all"},
}


def _config(tmp_path, labels=None, sources=SOURCES):
    doc = {"name": "roles", "classes": ["a", "b"], "sources": sources, **({"labels": labels} if labels else {})}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return tmp_path / "c.yaml"


def test_a_box_pipeline_defaults_to_the_first_source_whose_reader_yields_boxes(tmp_path):
    cfg = load_config(_config(tmp_path))
    # the config alone: truth is the first source (no box role was named), the classifier trains on it
    assert (cfg.labels.truth, cfg.labels.role("classifier"), cfg.labels.role("detector")) == ("sorted", "sorted", "")
    resolve_label_roles(cfg)
    assert cfg.labels.role("detector") == "boxes"
    assert counted_sources(cfg) == ("sorted", "boxes")
    resolve_label_roles(cfg)  # idempotent
    assert cfg.to_dict()["labels"] == {"classifier": "sorted", "detector": "boxes", "truth": "sorted"}


def test_a_named_role_is_kept_and_names_the_truth(tmp_path):
    cfg = load_config(_config(tmp_path, labels={"detector": "boxes"}))
    assert cfg.labels.truth == "boxes" and cfg.labels.role("classifier") == "boxes"
    cfg = load_config(_config(tmp_path, labels={"detector": "sorted"}))
    resolve_label_roles(cfg)
    assert cfg.labels.role("detector") == "sorted"  # never overwritten (the training stage checks the boxes)


def test_without_a_box_source_the_box_role_stays_empty(tmp_path):
    cfg = load_config(_config(tmp_path, sources={"sorted": SOURCES["sorted"]}))
    resolve_label_roles(cfg)
    assert cfg.labels.role("detector") == "" and counted_sources(cfg) == ("sorted", "")


def test_config_resolved_prints_what_a_bench_writes(tmp_path, capsys):
    assert main(["config", str(_config(tmp_path)), "--resolved"]) == 0
    labels = yaml.safe_load(capsys.readouterr().out)["labels"]
    assert labels == {"classifier": "sorted", "detector": "boxes", "truth": "sorted"}


@pytest.mark.parametrize("bad", ["nope", 3])
def test_a_role_naming_no_source_is_refused(tmp_path, bad):
    from benchmarks.config import ConfigError

    with pytest.raises(ConfigError, match=r"`labels.detector` = .* is not a source; sources: sorted, boxes"):
        load_config(_config(tmp_path, labels={"detector": bad}))
