"""Candidates: named configs of one pipeline (a backbone and training mode, a YOLO model), built once at load.

    classifier: {backbone: resnet18}                      # one candidate, named after its pipeline ("classifier")
    classifier:                                           # or several, each named (default: backbone-mode / model)
      - {name: r18-scratch, backbone: resnet18, mode: scratch}
      - {name: r18-frozen, backbone: resnet18, mode: frozen, weights: imagenet}

Every candidate trains on the same split with its pipeline's labels and goes through the same stages. Names are
unique across pipelines and safe as folder names; a typo in any candidate fails at load, before data or training.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from benchmarks.config.build import ConfigError, build
from benchmarks.registry.pipelines import PIPELINES, Pipeline

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass
class Candidate:
    name: str
    pipeline: str
    config: Any  # the pipeline's typed config (e.g. ClassifierConfig)

    @property
    def labeling_method(self) -> str:
        return PIPELINES[self.pipeline].labeling_method

    def with_config(self, **changes) -> Candidate:
        return Candidate(self.name, self.pipeline, replace(self.config, **changes))

    def to_dict(self) -> dict:
        return {"name": self.name, **self.config.to_dict()}


def _default_name(p: Pipeline, item: dict, single: bool) -> str:
    if single:
        return p.name
    parts = [str(item[k]) for k in p.name_keys if item.get(k)]
    return "-".join(parts) or p.name


def build_candidates(cfg, file: str) -> list[Candidate]:
    out: list[Candidate] = []
    for p in PIPELINES.values():
        section = cfg.pipelines.get(p.name, {})
        single = isinstance(section, dict)
        items = [section] if single else section
        if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
            raise ConfigError(
                f"{file}: `{p.name}` must be a mapping (one candidate) or a non-empty list of mappings (named "
                f"candidates), got {section!r}"
            )
        for i, item in enumerate(items):
            key = p.name if single else f"{p.name}[{i}]"
            item = dict(item)
            name = str(item.pop("name", None) or _default_name(p, item, single))
            if not NAME_RE.match(name):
                raise ConfigError(
                    f"{file}: `{key}.name` = {name!r}: a candidate name is a folder name: letters, digits, '.', '_', "
                    "'-', at most 64 characters, starting with a letter or digit"
                )
            out.append(Candidate(name, p.name, build(p.config_class(), item, key, file)))
    seen: dict[str, str] = {}
    for c in out:
        if c.name in seen:
            raise ConfigError(
                f"{file}: candidate name {c.name!r} is used twice ({seen[c.name]} and {c.pipeline}); give each "
                "candidate a unique `name:`"
            )
        seen[c.name] = c.pipeline
    return out


def check_curve(cfg, file: str) -> None:
    cv = cfg.curve
    if not cv.fractions or any(not (0 < f <= 1) for f in cv.fractions):
        raise ConfigError(f"{file}: `curve.fractions` = {cv.fractions}: each must be in (0, 1]")
    if 1.0 not in cv.fractions:
        cv.fractions = [*cv.fractions, 1.0]  # the headline run is the full-train point
    cv.fractions = sorted(set(cv.fractions))
    if not cv.seeds or len(set(cv.seeds)) != len(cv.seeds):
        raise ConfigError(f"{file}: `curve.seeds` = {cv.seeds}: give at least one seed, each once")
    if any(isinstance(r, bool) or not isinstance(r, int) or r < 1 for r in cv.splits) or len(set(cv.splits)) != len(
        cv.splits
    ):
        raise ConfigError(
            f"{file}: `curve.splits` = {cv.splits}: extra splits are numbered 1, 2, ... (split seed = split.seed + "
            "the number), each once; [] trains on the configured split only"
        )
    if cv.splits and cfg.split.mode == "source":
        raise ConfigError(
            f"{file}: `curve.splits` = {cv.splits} needs `split.mode: stratified`: with `source` the sources fix the "
            "split, so there is nothing to redraw"
        )
    if any(isinstance(t, bool) or not isinstance(t, int | float) or not 0 < t < 1 for t in cv.targets):
        raise ConfigError(f"{file}: `curve.targets` = {cv.targets}: macro APs in (0, 1), e.g. [0.6, 0.8]")
    if cv.val_rule not in ("share", "fixed"):
        raise ConfigError(f"{file}: `curve.val_rule` = {cv.val_rule!r}; allowed: share, fixed")
    if isinstance(cv.match_points, bool) or not isinstance(cv.match_points, int) or cv.match_points < 0:
        raise ConfigError(f"{file}: `curve.match_points` = {cv.match_points!r}: a count >= 0 (0: none)")
    if not isinstance(cv.match_hours, bool):
        raise ConfigError(f"{file}: `curve.match_hours` = {cv.match_hours!r}: use true or false")
    if not isinstance(cv.keep_weights, bool):
        raise ConfigError(f"{file}: `curve.keep_weights` = {cv.keep_weights!r}: use true or false")
    if cv.max_epoch_factor < 1:
        raise ConfigError(f"{file}: `curve.max_epoch_factor` = {cv.max_epoch_factor} must be >= 1")
    names = cfg.candidate_names()
    bad = [n for n in cv.candidates if n not in names and n != "all"]
    if bad:
        raise ConfigError(f"{file}: `curve.candidates` has {bad}; candidates: {', '.join(names)} (or 'all')")


def curve_candidates(cfg) -> list[Candidate]:
    """The candidates that get budget-curve points: the configured ones, else the first of each pipeline."""
    if "all" in cfg.curve.candidates:
        return list(cfg.candidates)
    if cfg.curve.candidates:
        return [c for c in cfg.candidates if c.name in cfg.curve.candidates]
    firsts: dict[str, Candidate] = {}
    for c in cfg.candidates:
        firsts.setdefault(c.pipeline, c)
    return list(firsts.values())
