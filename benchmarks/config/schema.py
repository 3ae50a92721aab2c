"""Typed benchmark config: one YAML file + a profile + command-line overrides, validated once, at load.

A bad value fails here with the file, the key, the value and what is allowed. The resolved config is
saved beside every run's outputs (`config.resolved.yaml`).

    name: demo
    classes: [circle, square, ...]          # one ordered class list for the whole benchmark
    aliases: {kitty: cat}                   # a source's own name -> benchmark class
    ignore: [background]                    # source class names deliberately left out (counted, not an error)
    sources:
      folders: {reader: folders, path: folders, images: unsorted}
      cvat:    {reader: cvat_xml, path: cvat_export.zip, images: unsorted}
    labels: {classifier: folders, detector: cvat, truth: cvat}
    split: {train: 0.7, val: 0.15, test: 0.15, seed: 0}
    classifier: {...}                       # one candidate (classifier.config.ClassifierConfig fields), or a
    detector: [{name: y11n, ...}, ...]      # list of named candidates (detector.config.DetectorConfig fields)
    curve: {fractions: [0.25, 0.5, 1.0], seeds: [0]}   # labeling-budget curve (benchmarks/curve.py)
    profiles: {quick: {classifier: {epochs: 15}}, full: {...}}   # on top of the built-in quick/full (profiles.py)

Pipeline sections are built once, at load, into typed candidates (`cfg.candidates`): the rest of the harness never
re-validates or rebuilds them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import yaml

from benchmarks.config.build import (
    ConfigError,
    DuplicateKeyError,
    build,
    deep_merge,
    flatten_open_keys,
    load_yaml,
    parse_override,
)
from benchmarks.config.candidates import NAME_RE, build_candidates, check_curve
from benchmarks.config.profiles import apply_profile
from benchmarks.registry.backends import DEVICE_KINDS, DTYPES, is_device_name, list_backends
from benchmarks.registry.pipelines import PIPELINES

# numpy's RandomState (scikit-learn's `random_state`, used by the split), Lightning's seed_everything and
# Ultralytics' seed all take a seed from 0 to 2**32 - 1; outside it they raise or pick another seed after the data stage
SEED_MAX = 2**32 - 1


@dataclass
class SourceConfig:
    reader: str  # folders | labels_txt | class_lists | cvat_xml | cvat_coco | cvat_yolo | yolo_dataset
    path: str  # the source's file or folder, relative to the config file
    images: str | None = None  # the image folder, when the source holds only labels
    options: dict = field(default_factory=dict)  # reader options (e.g. {separator: "+"}, {shapes: skip})


@dataclass
class LabelsConfig:
    # YAML: one key per pipeline (`labels.classifier`, `labels.detector`, ...): the source whose labels train it;
    # default: the first source with boxes for a pipeline that trains on boxes, else `truth`
    OPEN_KEYS: ClassVar = ("roles", lambda: list(PIPELINES))
    roles: dict[str, str] = field(default_factory=dict)
    truth: str = ""  # source whose image-level labels score every model on the test split; default: the box source

    def role(self, pipeline: str) -> str:
        return self.roles.get(pipeline, "")

    @staticmethod
    def role_note(pipeline) -> str:
        """The config reference's line for one pipeline's key."""
        what = "boxes" if pipeline.uses_boxes else "image-level labels"
        return f"source whose {what} train the {pipeline.name}"


@dataclass
class SplitConfig:
    train: float = 0.7  # shares of the images; the three sum to 1
    val: float = 0.15  # thresholds are tuned here, never on test
    test: float = 0.15
    seed: int = 0
    mode: str = "stratified"  # stratified | source (use the split a source assigns, e.g. yolo_dataset train/val)
    stratify_by: str = ""  # source whose labels drive stratification; default: labels.truth


@dataclass
class LatencyConfig:
    devices: list[str] = field(default_factory=lambda: ["auto"])  # auto = cpu + every accelerator present; or cuda:N
    batch_sizes: list[int] = field(default_factory=lambda: [1, 16])
    scopes: list[str] = field(default_factory=lambda: ["model", "end_to_end"])
    warmup: int = 5
    iters: int = 30  # at least this many timed iterations ...
    min_seconds: float = 1.0  # ... and at least this long
    threads: int | None = None  # torch intra-op threads on CPU; None = all cores available
    # how people deploy: each backend x dtype is a variant, timed and gated on test macro AP
    backends: list[str] = field(default_factory=lambda: ["eager"])  # eager, compile, onnxruntime, tensorrt, ...
    dtypes: list[str] = field(default_factory=lambda: ["float32"])  # float32, float16, bfloat16
    channels_last: str = "auto"  # auto: a short probe picks the faster layout per model; always | never
    rounds: int = 3  # interleaved rounds (A, B, A, B, ...): every round kept, cells report the median over rounds
    throughput: bool = True  # peak throughput: batch sweep 1, 2, 4, ... until OOM or < 5% gain
    throughput_max_batch: int = 64
    throughput_min_seconds: float = 0.3  # timed seconds per sweep step
    gate_max_drop: float = 0.01  # a variant > this below eager float32 test macro AP fails the accuracy gate
    gate_images: int = 4  # images whose raw outputs are compared with eager (max abs difference)
    timer_check: bool = True  # the harness's CPU timer vs torch.utils.benchmark.Timer.blocked_autorange
    # the ONNX files timed (export/<candidate>/, tens of MB) are deleted after measuring; true keeps them for deploying
    keep_exports: bool = False


def _check_latency(lc: LatencyConfig, file: str) -> None:
    for key, values, allowed in (
        (
            "devices",
            ["cuda:N" if is_device_name(str(d)) and ":" in str(d) else d for d in lc.devices],
            (*DEVICE_KINDS, "cuda:N"),  # cuda:N: one GPU by its index
        ),
        ("scopes", lc.scopes, ("model", "end_to_end")),
        ("backends", lc.backends, list_backends()),
        ("dtypes", lc.dtypes, DTYPES),
        ("channels_last", [lc.channels_last], ("auto", "always", "never")),
    ):
        bad = [v for v in values if v not in allowed]
        if bad or not values:
            raise ConfigError(f"{file}: `latency.{key}` has {bad or 'nothing'}; allowed: {', '.join(allowed)}")
    for key, value, low in (
        ("rounds", lc.rounds, 1),
        ("throughput_max_batch", lc.throughput_max_batch, 1),
        ("throughput_min_seconds", lc.throughput_min_seconds, 0),
        ("gate_max_drop", lc.gate_max_drop, 0),
        ("gate_images", lc.gate_images, 1),
    ):
        if value < low:
            raise ConfigError(f"{file}: `latency.{key}` = {value} must be >= {low}")
    for key in ("throughput", "timer_check", "keep_exports"):
        if not isinstance(getattr(lc, key), bool):
            raise ConfigError(f"{file}: `latency.{key}` = {getattr(lc, key)!r}: use true or false")


@dataclass
class CurveConfig:
    fractions: list[float] = field(default_factory=lambda: [1.0])  # of the train split; 1.0 is the headline run
    seeds: list[int] = field(default_factory=lambda: [0])  # subset ordering + training seed; the first: headline
    # add points so both methods are measured at the same labeling hours (the dear method's cheap points use few
    # images), priced at the central rates; false: the configured fractions only
    match_hours: bool = True
    targets: list[float] = field(default_factory=list)  # macro APs to report the labeling hours to reach, e.g. [0.6]
    match_points: int = 3  # common hours (log-spaced over the range both methods can reach) each method gets a point at
    # the val images a point labels: share = the same share of the val split as of the train split (at least 10),
    # so a small budget pays for a small val set; fixed = every point labels the whole val split
    val_rule: str = "share"
    # extra train/val/test splits (split seed = split.seed + n), trained with all their train images and every seed,
    # so the verdict's full-data comparison carries split-to-split variance too; [] = the configured split only
    splits: list[int] = field(default_factory=list)
    # which candidates get curve points: [] = the first of each pipeline, [all] = every candidate
    candidates: list[str] = field(default_factory=list)
    max_epoch_factor: float = 4.0  # a small subset trains up to this many times the configured epochs (recipe)
    # a curve point's weights are deleted once it is scored on test (its scores, thresholds and history stay); the
    # headline models always keep theirs. true keeps every point's weights (a point's model for later inspection)
    keep_weights: bool = False


@dataclass
class CostConfig:
    labeling_usd_per_hour: float | None = None  # unset: the report speaks in hours only
    compute_usd_per_hour: float | None = None


@dataclass
class MetricsConfig:
    bootstrap: int = 1000  # resamples for the 95% CIs and the paired two-level comparison
    permutations: int = 1000  # for the test against a random ranking (p-values down to 1/1001)
    # simulations behind the report's "How sure is this" (error rates on this run's own test labels); 0 skips it
    self_check: int = 200
    seed: int = 0


@dataclass
class LabelingConfig:
    log_dir: str | None = None  # None: the project's labeling_logs/ (where `clsdet label` writes by default)
    dataset: str | None = None  # the dataset name logs must carry to count for this benchmark; default: `name`
    rates: dict = field(default_factory=dict)  # overrides of the modeled rates (see benchmarks/labeling)


@dataclass
class MlflowConfig:
    tracking_uri: str | None = None  # None: sqlite store under results/ (or $MLFLOW_TRACKING_URI)
    experiment: str = "clsdet"
    log_models: bool = False  # weights + a pyfunc model per candidate into MLflow (`clsdet bench --log-models`)


@dataclass
class BenchConfig:
    name: str
    classes: list[str]
    sources: dict[str, SourceConfig]
    labels: LabelsConfig = field(default_factory=LabelsConfig)
    aliases: dict[str, str] = field(default_factory=dict)
    ignore: list[str] = field(default_factory=list)
    split: SplitConfig = field(default_factory=SplitConfig)
    # the pipeline sections by pipeline name (YAML: a top-level key per pipeline of benchmarks/registry/pipelines.py,
    # `classifier:`, `detector:`): a mapping (one candidate) or a list of named candidates; built into `candidates`
    OPEN_KEYS: ClassVar = ("pipelines", lambda: list(PIPELINES))
    pipelines: dict = field(default_factory=dict)
    curve: CurveConfig = field(default_factory=CurveConfig)
    cost: CostConfig = field(default_factory=CostConfig)
    latency: LatencyConfig = field(default_factory=LatencyConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    labeling: LabelingConfig = field(default_factory=LabelingConfig)
    mlflow: MlflowConfig = field(default_factory=MlflowConfig)
    profiles: dict = field(default_factory=dict)
    profile: str = ""
    base_dir: str = "."  # the config file's folder; relative paths resolve against it
    config_file: str = ""  # the YAML it came from (for error messages)

    def resolve(self, path: str | None) -> Path | None:
        if path is None:
            return None
        p = Path(path).expanduser()
        return p if p.is_absolute() else (Path(self.base_dir) / p).resolve()

    def __post_init__(self) -> None:
        self.candidates: list = []  # built by _check (candidates.build_candidates); not a YAML key

    def candidate(self, name: str):
        for c in self.candidates:
            if c.name == name:
                return c
        raise ConfigError(f"{self._file}: no candidate {name!r}; candidates: {', '.join(self.candidate_names())}")

    def candidate_names(self, pipeline: str | None = None) -> list[str]:
        return [c.name for c in self.candidates if pipeline in (None, c.pipeline)]

    @property
    def _file(self) -> str:
        return self.config_file or str(Path(self.base_dir) / "<config>")

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        if self.candidates:  # the resolved pipeline sections: every candidate with all its typed fields
            d["pipelines"] = {p: [c.to_dict() for c in self.candidates if c.pipeline == p] for p in PIPELINES}
        d["labels"] = flatten_open_keys(self.labels, d["labels"])
        return flatten_open_keys(self, d)


def load_config(path: str | Path, profile: str | None = None, overrides: list[str] | dict | None = None) -> BenchConfig:
    path = Path(path).expanduser().resolve()
    if not path.is_file():
        raise ConfigError(f"config file {path} not found (make one with `clsdet demo-data DIR`, then DIR/clsdet.yaml)")
    try:
        data = load_yaml(path.read_bytes())  # bytes: PyYAML reads the BOM (UTF-8 or UTF-16) itself
    except DuplicateKeyError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if data is None:
        raise ConfigError(
            f"{path} is empty (nothing but comments or blank lines); a benchmark config needs `name`, `classes` and "
            "`sources` (make an example with `clsdet demo-data DIR`, then see DIR/clsdet.yaml)"
        )
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping")
    if profile:
        data = apply_profile(data, profile, str(path))
    if isinstance(overrides, dict):
        data = deep_merge(data, overrides)
    else:
        for o in overrides or []:
            data = deep_merge(data, parse_override(o))
    data["base_dir"] = str(path.parent)
    data["config_file"] = str(path)
    cfg = build(BenchConfig, data, "", str(path))
    _check(cfg, str(path))
    return cfg


def with_overrides(cfg: BenchConfig, overrides: list[str]) -> BenchConfig:
    """A new config: `cfg` (resolved, devices included) with `--set`-style overrides merged in and checked again
    (the time budget's cuts, benchmarks/harness/budget.py)."""
    data = cfg.to_dict()
    for o in overrides:
        data = deep_merge(data, parse_override(o))
    new = build(BenchConfig, data, "", cfg._file)
    _check(new, cfg._file)
    return new


def _check(cfg: BenchConfig, file: str) -> None:
    # the name becomes part of the run folder's name: '../x' would escape --out, 'a/b' would nest, 240 chars fail
    if not NAME_RE.match(str(cfg.name)):
        raise ConfigError(
            f"{file}: `name` = {cfg.name!r}: it names the run folders, so it must be a folder name: letters, digits, "
            "'.', '_', '-', at most 64 characters, starting with a letter or digit (e.g. name: my-dataset)"
        )
    if not cfg.classes or len(set(cfg.classes)) != len(cfg.classes):
        raise ConfigError(f"{file}: `classes` must be a non-empty list of distinct names, got {cfg.classes!r}")
    for src, dst in cfg.aliases.items():
        if dst not in cfg.classes:
            raise ConfigError(f"{file}: `aliases.{src}` -> {dst!r} is not in `classes` ({', '.join(cfg.classes)})")
    if not cfg.sources:
        raise ConfigError(f"{file}: `sources` is empty; name at least one (see README, 'Your own data')")
    names = list(cfg.sources)
    box_roles = [cfg.labels.role(p.name) for p in PIPELINES.values() if p.uses_boxes and cfg.labels.role(p.name)]
    if not cfg.labels.truth:
        cfg.labels.truth = box_roles[0] if box_roles else names[0]
    for p in PIPELINES.values():  # an image-level pipeline trains on the truth unless named; a box pipeline: data/roles
        if not p.uses_boxes and not cfg.labels.role(p.name):
            cfg.labels.roles[p.name] = cfg.labels.truth
    for role, value in [*cfg.labels.roles.items(), ("truth", cfg.labels.truth)]:
        if value and (not isinstance(value, str) or value not in cfg.sources):
            raise ConfigError(f"{file}: `labels.{role}` = {value!r} is not a source; sources: {', '.join(names)}")
    _check_seeds(cfg, file)
    s = cfg.split
    if min(s.train, s.val, s.test) < 0 or abs(s.train + s.val + s.test - 1.0) > 1e-6:
        raise ConfigError(f"{file}: `split` ratios must be >= 0 and sum to 1, got {s.train}/{s.val}/{s.test}")
    if s.mode not in ("stratified", "source"):
        raise ConfigError(f"{file}: `split.mode` = {s.mode!r}; allowed: stratified, source")
    if s.stratify_by and s.stratify_by not in cfg.sources:
        raise ConfigError(f"{file}: `split.stratify_by` = {s.stratify_by!r} is not a source")
    for key, values, low in (
        ("latency.batch_sizes", cfg.latency.batch_sizes, 1),
        ("latency.warmup", [cfg.latency.warmup], 0),
        ("latency.iters", [cfg.latency.iters], 1),
        ("metrics.bootstrap", [cfg.metrics.bootstrap], 1),
        ("metrics.permutations", [cfg.metrics.permutations], 1),
        ("metrics.self_check", [cfg.metrics.self_check], 0),
        ("latency.threads", [1 if cfg.latency.threads is None else cfg.latency.threads], 1),  # 0 would mean "all"
    ):
        if not values or min(values) < low:
            raise ConfigError(f"{file}: `{key}` = {values} must be >= {low}")
    # the pipelines' own typed configs, built once: a typo such as classifier.epoch fails now, not after data/split
    cfg.candidates = build_candidates(cfg, file)
    check_curve(cfg, file)
    _check_latency(cfg.latency, file)


def _check_seeds(cfg: BenchConfig, file: str) -> None:
    for key, values in (
        ("split.seed", [cfg.split.seed]),
        ("metrics.seed", [cfg.metrics.seed]),
        ("curve.seeds", cfg.curve.seeds),
    ):
        bad = [v for v in values if not 0 <= v <= SEED_MAX]
        if bad:
            raise ConfigError(
                f"{file}: `{key}` = {bad[0]}: a seed must be an integer from 0 to {SEED_MAX} (2**32 - 1, the range "
                "numpy, scikit-learn, Lightning and Ultralytics accept), e.g. 0"
            )


def save_resolved(cfg: BenchConfig, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False))
    return path
