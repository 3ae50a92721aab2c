from __future__ import annotations

import pytest

from benchmarks.config import ConfigError, load_config, parse_override

BASE = """
name: t
classes: [a, b]
sources:
  f: {reader: folders, path: folders}
labels: {classifier: f, detector: f}
profiles:
  quick: {classifier: {epochs: 2}, split: {seed: 5}}
"""


def _write(tmp_path, text):
    p = tmp_path / "c.yaml"
    p.write_text(text)
    return p


def test_profile_and_overrides_merge_in_order(tmp_path):
    cfg = load_config(_write(tmp_path, BASE), profile="quick", overrides=["split.seed=7", "latency.iters=3"])
    assert cfg.classifier == {"epochs": 2}
    assert cfg.split.seed == 7 and cfg.latency.iters == 3 and cfg.profile == "quick"
    assert cfg.labels.truth == "f"  # defaults to the detector's source
    assert cfg.resolve("folders") == (tmp_path / "folders").resolve()


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        ("split: {train: 0.5, val: 0.1, test: 0.1}", "sum to 1"),
        ("latency: {iters: many}", r"`latency.iters` = 'many'"),
        ("splitt: {}", r"unknown key\(s\) splitt"),
        ("labels: {truth: nope}", r"`labels.truth` = 'nope' is not a source"),
        ("aliases: {x: zzz}", r"`aliases.x` -> 'zzz' is not in `classes`"),
        ("latency: {devices: [tpu]}", "allowed: auto, cpu, cuda, mps"),
    ],
)
def test_bad_values_fail_at_load_with_key_and_allowed(tmp_path, extra, match):
    with pytest.raises(ConfigError, match=match):
        load_config(_write(tmp_path, BASE + extra + "\n"))


def test_unknown_profile_lists_the_defined_ones(tmp_path):
    with pytest.raises(ConfigError, match="defined: quick"):
        load_config(_write(tmp_path, BASE), profile="fast")


def test_override_syntax():
    assert parse_override("classifier.lr=0.01") == {"classifier": {"lr": 0.01}}
    with pytest.raises(ConfigError, match="key.sub=value"):
        parse_override("classifier.lr")
