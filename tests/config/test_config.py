from __future__ import annotations

import pytest
from tiny_bench import MINIMAL_CONFIG  # tests/ is on sys.path (pytest's rootdir-relative import)

from benchmarks.config import ConfigError, load_config, parse_override

BASE = MINIMAL_CONFIG


def _write(tmp_path, text):
    p = tmp_path / "c.yaml"
    p.write_text(text)
    return p


def test_profile_and_overrides_merge_in_order(tmp_path):
    cfg = load_config(_write(tmp_path, BASE), profile="quick", overrides=["split.seed=7", "latency.iters=3"])
    assert cfg.pipelines["classifier"] == {"epochs": 2} and cfg.candidate("classifier").config.epochs == 2
    assert cfg.split.seed == 7 and cfg.latency.iters == 3 and cfg.profile == "quick"
    assert cfg.labels.truth == "f"  # defaults to the detector's source
    assert cfg.resolve("folders") == (tmp_path / "folders").resolve()


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        ("split: {train: 0.5, val: 0.1, test: 0.1}", "sum to 1"),
        ("latency: {iters: many}", r"`latency.iters` = 'many'"),
        ("splitt: {}", r"unknown key\(s\) splitt"),
        ("labels: {classifier: f, detector: f, truth: nope}", r"`labels.truth` = 'nope' is not a source"),
        ("aliases: {x: zzz}", r"`aliases.x` -> 'zzz' is not in `classes`"),
        ("latency: {devices: [tpu]}", "allowed: auto, cpu, cuda, mps"),
    ],
)
def test_bad_values_fail_at_load_with_key_and_allowed(tmp_path, extra, match):
    key = extra.split(":")[0]  # a key of BASE is replaced, not given twice
    base = "\n".join(line for line in BASE.splitlines() if not line.startswith(f"{key}:"))
    with pytest.raises(ConfigError, match=match):
        load_config(_write(tmp_path, base + "\n" + extra + "\n"))


def test_unknown_profile_lists_the_defined_ones(tmp_path):
    with pytest.raises(ConfigError, match="built-in: quick, full; defined: full, quick"):
        load_config(_write(tmp_path, BASE), profile="fast")


def test_builtin_profiles_work_on_a_config_without_profiles(tmp_path):
    text = BASE.split("profiles:")[0]
    quick = load_config(_write(tmp_path, text), profile="quick")
    assert quick.profile == "quick" and quick.curve.fractions == [0.25, 0.5, 1.0] and quick.curve.seeds == [0]
    assert quick.candidate("classifier").config.epochs == 10
    full = load_config(_write(tmp_path, text), profile="full")
    assert full.curve.fractions == [0.1, 0.25, 0.5, 1.0] and full.curve.seeds == [0, 1, 2]


def test_the_configs_own_profile_wins_over_the_builtin(tmp_path):
    cfg = load_config(_write(tmp_path, BASE), profile="quick")
    assert cfg.candidate("classifier").config.epochs == 2  # the file's quick, merged over the built-in quick
    assert cfg.curve.fractions == [0.25, 0.5, 1.0]  # what the file's quick leaves alone comes from the built-in


CANDIDATES = (
    BASE.split("profiles:")[0]
    + """
classifier:
  - {name: r18-scratch, backbone: resnet18, mode: scratch}
  - {backbone: mobilenet_v3_small}
detector: [{name: y11n, model: yolo11n}, {name: y8n, model: yolov8n}]
curve: {fractions: [0.5], candidates: [r18-scratch, y8n]}
"""
)


def test_candidates_are_built_once_typed_and_named(tmp_path):
    from benchmarks.config.candidates import curve_candidates
    from classifier.config import ClassifierConfig

    cfg = load_config(_write(tmp_path, CANDIDATES), overrides=["classifier.epochs=3"])
    assert cfg.candidate_names() == ["r18-scratch", "mobilenet_v3_small", "y11n", "y8n"]
    assert all(isinstance(c.config, ClassifierConfig) for c in cfg.candidates if c.pipeline == "classifier")
    assert {c.config.epochs for c in cfg.candidates if c.pipeline == "classifier"} == {3}  # override hits each
    assert cfg.curve.fractions == [0.5, 1.0]  # the headline point is always on the curve
    assert [c.name for c in curve_candidates(cfg)] == ["r18-scratch", "y8n"]
    assert [c["name"] for c in cfg.to_dict()["detector"]] == ["y11n", "y8n"]  # resolved, every field typed
    assert cfg.to_dict()["detector"][0]["imgsz"] == cfg.candidate("y11n").config.imgsz


@pytest.mark.parametrize(
    ("section", "match"),
    [
        ("classifier: [{name: a, backbone: resnet18}, {name: a, backbone: resnet34}]", "used twice"),
        ("classifier: [{name: a, backbone: resnett18}]", r"`classifier\[0\]`.*resnett18"),
        ("detector: [{name: ../x, model: yolo11n}]", "folder name"),
        ("classifier: [{name: a, epoch: 3}]", r"unknown key\(s\) classifier\[0\].epoch"),
        ("curve: {candidates: [nope]}", r"`curve.candidates` has \['nope'\]"),
        ("curve: {fractions: [0, 0.5]}", r"each must be in \(0, 1\]"),
        ("classifier: []", "non-empty list"),
    ],
)
def test_candidate_typos_fail_at_load(tmp_path, section, match):
    with pytest.raises(ConfigError, match=match):
        load_config(_write(tmp_path, BASE.split("profiles:")[0] + section + "\n"))


def test_override_syntax():
    assert parse_override("classifier.lr=0.01") == {"classifier": {"lr": 0.01}}
    with pytest.raises(ConfigError, match="key.sub=value"):
        parse_override("classifier.lr")


@pytest.mark.parametrize(
    ("override", "match"),
    [
        ("split.seed=-1", r"`split.seed` = -1: a seed must be an integer from 0 to 4294967295"),
        ("metrics.seed=4294967296", r"`metrics.seed` = 4294967296: a seed must be"),
        ("curve.seeds=[0, -3]", r"`curve.seeds` = -3: a seed must be"),
        ("classifier.seed=-1", r"classifier config: seed=-1 is not valid; allowed: an integer from 0 to 2\*\*32 - 1"),
        ("detector.seed=4294967296", r"detector config: seed=4294967296 is not valid"),
    ],
)
def test_seeds_a_library_rejects_fail_at_load(tmp_path, override, match):
    with pytest.raises(ConfigError, match=match):
        load_config(_write(tmp_path, BASE), overrides=[override])
    top = "[0, 4294967295]" if override.startswith("curve") else "4294967295"  # the top of the range is fine
    load_config(_write(tmp_path, BASE), overrides=[override.split("=")[0] + "=" + top])


def test_a_key_given_twice_is_an_error_with_its_line(tmp_path):
    text = BASE + "classifier:\n  epochs: 3\n  lr: 0.01\n  epochs: 5\n"
    with pytest.raises(ConfigError, match=r"c.yaml: line 12: key 'epochs' is given twice \(first on line 10\)"):
        load_config(_write(tmp_path, text))
    with pytest.raises(ConfigError, match=r"line 2: key 'name' is given twice \(first on line 1\)"):
        load_config(_write(tmp_path, "name: a\nname: b\n" + BASE.replace("name: t\n", "")))
    with pytest.raises(ConfigError, match=r"override .*key 'epochs' is given twice"):
        parse_override("classifier={epochs: 1, epochs: 2}")
    merged = "base: &b {epochs: 1, lr: 0.1}\n" + BASE + "classifier:\n  <<: *b\n  epochs: 4\n"
    with pytest.raises(ConfigError, match="unknown key"):  # a merge key may be overridden: only `base` is refused
        load_config(_write(tmp_path, merged))
